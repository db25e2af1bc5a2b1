"""Freqtrade-style candle files: `BASE_QUOTE-TF.feather`, `.json` or `.json.gz`.

One loader for everyone (sandbox replay, analysis, backtests):

    load_candle_file(path) -> CandleSeries     symbol "BASE/QUOTE", timeframe from the file name
    discover(data_dir)     -> {(symbol, timeframe): Path}   one file per pair and timeframe

Feather files hold columns `date` (UTC candle open time), open, high, low, close, volume (freqtrade's
layout); JSON files hold a list of `[ms, o, h, l, c, v]` rows. Rows are sorted by time and duplicate open
times dropped, so `CandleSeries.ts` is strictly increasing.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import cast

import numpy as np

from qari.core.market import CandleSeries

SUFFIXES = (".feather", ".json.gz", ".json")
_NAME = re.compile(r"^(?P<base>.+)_(?P<quote>[A-Za-z0-9]+)-(?P<tf>\d+(?:m|h|d|w|Mo|M))$")


class CandleFileError(ValueError):
    """A candle file that cannot be read; the message names the file and the problem."""


def parse_name(path: Path) -> tuple[str, str] | None:
    """`BTC_USDT-5m.feather` -> ("BTC/USDT", "5m"); None for names that are not candle files."""
    name = path.name
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            match = _NAME.match(name[: -len(suffix)])
            if match is None:
                return None
            return f"{match['base']}/{match['quote']}", match["tf"]
    return None


def load_candle_file(path: Path | str) -> CandleSeries:
    path = Path(path)
    parsed = parse_name(path)
    if parsed is None:
        raise CandleFileError(f"{path}: expected a name like BTC_USDT-1h.feather / .json / .json.gz")
    symbol, timeframe = parsed
    try:
        arr = _read_feather(path) if path.name.endswith(".feather") else _read_json(path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CandleFileError(f"{path}: cannot read candles ({e})") from None
    if arr.size:
        arr = arr[np.argsort(arr[:, 0], kind="stable")]
        keep = np.concatenate(([True], np.diff(arr[:, 0]) > 0))
        arr = arr[keep]
    return CandleSeries.from_rows(symbol, timeframe, cast("list[list[float]]", arr))


def discover(data_dir: Path | str) -> dict[tuple[str, str], Path]:
    """Every candle file directly inside `data_dir`, keyed by (symbol, timeframe); feather wins ties."""
    found: dict[tuple[str, str], Path] = {}
    root = Path(data_dir)
    if not root.is_dir():
        raise CandleFileError(f"{root}: not a directory")
    for path in sorted(root.iterdir()):
        parsed = parse_name(path)
        if parsed is None or not path.is_file():
            continue
        if parsed not in found or path.name.endswith(".feather"):
            found[parsed] = path
    return found


def _read_feather(path: Path) -> np.ndarray:
    import pandas as pd

    df = pd.read_feather(path)
    ms = pd.to_datetime(df["date"], utc=True).dt.as_unit("ms").astype("int64").to_numpy()
    cols = [df[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")]
    return np.column_stack([ms.astype(np.float64), *cols]).reshape(-1, 6)


def _read_json(path: Path) -> np.ndarray:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as f:
        rows = json.load(f)
    if not isinstance(rows, list):
        raise ValueError("expected a JSON list of [ms, o, h, l, c, v] rows")
    return np.asarray([row[:6] for row in rows], dtype=np.float64).reshape(-1, 6)
