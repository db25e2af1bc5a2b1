"""Download closed candles from an exchange's public API into freqtrade-layout feather files.

    <datadir>/<BASE>_<QUOTE>-<tf>.feather    columns date (UTC datetime), open, high, low, close, volume

the files `qari backtest`, `qari scan` and the sandbox replay read (`qari.market.candle_files`).
Incremental: a file already holding part of the period is only extended by what it lacks (before its
first or after its last candle); its own candles are kept. Only closed candles are written, so a later
run never has to correct a candle it stored half-built.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qari.core.time import from_ms, timeframe_ms, to_ms
from qari.market.candle_files import CandleFileError, load_candle_file

COLUMNS = ("date", "open", "high", "low", "close", "volume")
PAGE = 1000  # candles per request (Bybit's and Binance's maximum)


class DownloadError(ValueError):
    """A download that cannot be done as asked; the message says why."""


class OhlcvSource(Protocol):
    """What the downloader needs of an (async ccxt) exchange."""

    timeframes: dict[str, Any]

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[list[Any]]: ...


@dataclass(frozen=True, slots=True)
class Downloaded:
    symbol: str
    timeframe: str
    path: Path
    added: int  # candles new to the file
    total: int  # candles in the file afterwards
    first: dt.datetime | None
    last: dt.datetime | None


def candle_path(datadir: Path, symbol: str, timeframe: str) -> Path:
    """`BTC/USDT`, `15m` -> `<datadir>/BTC_USDT-15m.feather` (freqtrade's spot naming)."""
    return datadir / f"{symbol.replace('/', '_')}-{timeframe}.feather"


def read_rows(path: Path) -> np.ndarray:
    """The file's candles as an (n, 6) float array [ms, o, h, l, c, v]; empty when there is no file."""
    if not path.exists():
        return np.empty((0, 6))
    try:
        series = load_candle_file(path)
    except CandleFileError as e:
        raise DownloadError(f"{e}; move it away or delete it to download afresh") from None
    return np.column_stack(
        [series.ts.astype(np.float64), series.open, series.high, series.low, series.close, series.volume]
    ).reshape(-1, 6)


def write_rows(path: Path, rows: np.ndarray) -> None:
    """Write candles sorted, one per open time, as freqtrade does (feather, `date` a UTC datetime)."""
    import pandas as pd

    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    rows = rows[np.concatenate(([True], np.diff(rows[:, 0]) > 0))] if len(rows) else rows
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(rows[:, 0].astype(np.int64), unit="ms", utc=True),
            **{name: rows[:, i] for i, name in enumerate(COLUMNS[1:], start=1)},
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    frame.to_feather(tmp, compression="lz4")
    tmp.replace(path)


def missing_ranges(have: np.ndarray, start_ms: int, end_ms: int, step: int) -> list[tuple[int, int]]:
    """The [from, to) open-time ranges of the period the file lacks: before its first and after its last."""
    if len(have) == 0:
        return [(start_ms, end_ms)] if end_ms > start_ms else []
    first, last = int(have[0, 0]), int(have[-1, 0])
    ranges = []
    if start_ms < first:
        ranges.append((start_ms, min(first, end_ms)))
    if last + step < end_ms:
        ranges.append((max(last + step, start_ms), end_ms))
    return [(a, b) for a, b in ranges if b > a]


async def latest_open(exchange: OhlcvSource, symbol: str, timeframe: str) -> int | None:
    """Open time of the candle in progress: the exchange's market clock, which a sandbox's may not share
    with ours (its `fetch_time` is the signing clock)."""
    rows = await exchange.fetch_ohlcv(symbol, timeframe, limit=1)
    return int(max(row[0] for row in rows)) if rows else None


async def fetch_range(
    exchange: OhlcvSource,
    symbol: str,
    timeframe: str,
    start_ms: int,
    end_ms: int,
    on_rows: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Candles opening in [start_ms, end_ms), paged forward from `start_ms`."""
    step = timeframe_ms(timeframe)
    since = start_ms
    pages: list[np.ndarray] = []
    while since < end_ms:
        raw = await exchange.fetch_ohlcv(symbol, timeframe, since=since, limit=PAGE)
        page = np.asarray([row[:6] for row in raw], dtype=np.float64).reshape(-1, 6)
        page = page[(page[:, 0] >= since) & (page[:, 0] < end_ms)]
        if len(page) == 0:
            break
        pages.append(page)
        if on_rows is not None:
            on_rows(len(page))
        since = int(page[:, 0].max()) + step
    return np.concatenate(pages) if pages else np.empty((0, 6))


def expected_candles(ranges: Sequence[tuple[int, int]], timeframe: str) -> int:
    step = timeframe_ms(timeframe)
    return sum(-(-(b - a) // step) for a, b in ranges)


async def download(
    exchange: OhlcvSource,
    pairs: Sequence[str],
    timeframes: Sequence[str],
    start: dt.datetime | None,
    end: dt.datetime | None,
    datadir: Path,
    *,
    days: int = 30,
    progress: Callable[[str, int], None] | None = None,
    planned: Callable[[int], None] | None = None,
) -> list[Downloaded]:
    """Fetch what each (pair, timeframe) file lacks of [start, end), closed candles only.

    Without `start`, the last `days` before the exchange's own market time.

    `planned(n)` is told how many candles are expected in all (for a progress bar) before the first
    request; `progress(label, n)` after every page.
    """
    unknown = [tf for tf in timeframes if exchange.timeframes and tf not in exchange.timeframes]
    if unknown:
        offered = " ".join(exchange.timeframes)
        raise DownloadError(f"timeframe {', '.join(unknown)} not offered by the exchange; it has {offered}")
    jobs: list[tuple[str, str, Path, np.ndarray, list[tuple[int, int]]]] = []
    for symbol in pairs:
        for timeframe in timeframes:
            step = timeframe_ms(timeframe)
            forming = await latest_open(exchange, symbol, timeframe)
            if forming is None:
                raise DownloadError(f"the exchange has no {timeframe} candles for {symbol}")
            begin = to_ms(start) if start is not None else forming - days * 86_400_000
            stop = min(to_ms(end), forming) if end is not None else forming
            path = candle_path(datadir, symbol, timeframe)
            have = read_rows(path)
            jobs.append((symbol, timeframe, path, have, missing_ranges(have, begin, stop, step)))
    if planned is not None:
        planned(sum(expected_candles(ranges, tf) for _, tf, _, _, ranges in jobs))
    done: list[Downloaded] = []
    for symbol, timeframe, path, have, ranges in jobs:
        on_rows = None if progress is None else functools.partial(progress, f"{symbol} {timeframe}")
        fetched = [await fetch_range(exchange, symbol, timeframe, a, b, on_rows) for a, b in ranges]
        new = np.concatenate(fetched) if fetched else np.empty((0, 6))
        added = len(new)
        rows = np.concatenate([have, new]) if added else have
        if added:
            write_rows(path, rows)
        first = from_ms(int(rows[:, 0].min())) if len(rows) else None
        last = from_ms(int(rows[:, 0].max())) if len(rows) else None
        done.append(Downloaded(symbol, timeframe, path, added, len(rows), first, last))
    return done
