"""Fixtures for the analysis tests: real candles from ../shared/data when present."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.market_data import MARKET_DATA

from qari.core.market import CandleSeries
from qari.market.candle_files import load_candle_file


@pytest.fixture(scope="session")
def market_data() -> Path:
    if not MARKET_DATA.is_dir():
        pytest.skip(f"real market data not present at {MARKET_DATA} (set QARI_MARKET_DATA)")
    return MARKET_DATA


@pytest.fixture(scope="session")
def real_series(market_data: Path) -> dict[str, dict[str, CandleSeries]]:
    out: dict[str, dict[str, CandleSeries]] = {}
    for base in ("BTC", "SOL", "PEPE", "LINK"):
        out[f"{base}/USDT"] = {
            tf: load_candle_file(market_data / f"{base}_USDT-{tf}.feather")
            for tf in ("15m", "1h", "4h", "1d")
        }
    return out
