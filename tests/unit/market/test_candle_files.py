from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qari.market.candle_files import CandleFileError, discover, load_candle_file, parse_name

COLS = ["open", "high", "low", "close", "volume"]
ROWS = [[1704067500000, 2.0, 3.0, 1.5, 2.5, 10.0], [1704067200000, 1.0, 2.0, 0.5, 2.0, 5.0]]


def test_parse_name_when_freqtrade_names_then_symbol_and_timeframe() -> None:
    assert parse_name(Path("1000SATS_USDT-1Mo.feather")) == ("1000SATS/USDT", "1Mo")
    assert parse_name(Path("BTC_USDT-5m.json.gz")) == ("BTC/USDT", "5m")
    assert parse_name(Path("README.md")) is None


def test_load_candle_file_when_json_and_gz_then_sorted_rows(tmp_path: Path) -> None:
    (tmp_path / "ETH_USDT-5m.json").write_text(json.dumps(ROWS))
    with gzip.open(tmp_path / "SOL_USDT-5m.json.gz", "wt") as f:
        json.dump(ROWS, f)
    for name in ("ETH_USDT-5m.json", "SOL_USDT-5m.json.gz"):
        series = load_candle_file(tmp_path / name)
        assert series.ts.tolist() == [1704067200000, 1704067500000]
        assert series.close.tolist() == [2.0, 2.5]
    assert set(discover(tmp_path)) == {("ETH/USDT", "5m"), ("SOL/USDT", "5m")}


def test_load_candle_file_when_feather_then_open_times_in_ms(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "date": pd.to_datetime([r[0] for r in ROWS[::-1]], unit="ms", utc=True),
            **{c: [r[i + 1] for r in ROWS[::-1]] for i, c in enumerate(COLS)},
        }
    )
    df.to_feather(tmp_path / "BTC_USDT-5m.feather")
    series = load_candle_file(tmp_path / "BTC_USDT-5m.feather")
    assert series.symbol == "BTC/USDT" and series.timeframe == "5m"
    assert series.ts.dtype == np.int64 and series.ts.tolist() == [1704067200000, 1704067500000]
    assert series.volume.tolist() == [5.0, 10.0]


def test_load_candle_file_when_garbage_then_clear_error(tmp_path: Path) -> None:
    (tmp_path / "BTC_USDT-5m.json").write_text("{not json")
    with pytest.raises(CandleFileError, match=r"BTC_USDT-5m\.json"):
        load_candle_file(tmp_path / "BTC_USDT-5m.json")
