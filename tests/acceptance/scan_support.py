"""Shared helpers for the `qari scan` acceptance tests: where the real data is and how to cut it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qari.core.market import CandleSeries
from qari.core.time import timeframe_ms

# The location tests/conftest.py names MARKET_DATA; QARI_MARKET_DATA overrides it (e.g. in worktrees).
_DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "data" / "market" / "binance-spot-2024"
MARKET_DATA = Path(os.environ.get("QARI_MARKET_DATA", str(_DEFAULT)))
DOMINANCE = MARKET_DATA.parents[1] / "dominance" / "btc_dominance.json"


def require_market_data() -> Path:
    if not MARKET_DATA.is_dir():
        pytest.skip(f"real market data not present at {MARKET_DATA} (set QARI_MARKET_DATA)")
    return MARKET_DATA


def closed_by(series: CandleSeries, at_ms: int) -> CandleSeries:
    """Only the candles that have closed by `at_ms`: everything after t removed."""
    return series.upto(at_ms - timeframe_ms(series.timeframe))
