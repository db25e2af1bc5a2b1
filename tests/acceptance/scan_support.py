"""Shared helpers for the `qari scan` acceptance tests: where the real data is and how to cut it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.market_data import MARKET_DATA

from qari.core.market import CandleSeries
from qari.core.time import timeframe_ms

DOMINANCE = MARKET_DATA.parents[1] / "dominance" / "btc_dominance.json"


def require_market_data() -> Path:
    if not MARKET_DATA.is_dir():
        pytest.skip(f"real market data not present at {MARKET_DATA} (set QARI_MARKET_DATA)")
    return MARKET_DATA


def closed_by(series: CandleSeries, at_ms: int) -> CandleSeries:
    """Only the candles that have closed by `at_ms`: everything after t removed."""
    return series.upto(at_ms - timeframe_ms(series.timeframe))
