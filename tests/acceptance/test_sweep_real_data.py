"""On real candles, `analysis.sweep` never rules out a step where the full analysis finds a candidate,
each of its layer bounds admits the real layer's vote, and it rules out most steps (what makes the
backtester fast)."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.integration.engine.support import MARKET_DATA_DIR as MARKET_DATA
from tests.market_data import needs_market_data
from tests.unit.analysis.sweep_support import check_steps

from qari.backtest.data import load_market_data
from qari.backtest.feed import ReplayMarketFeed
from qari.core.time import to_ms

pytestmark = needs_market_data

STEP_MS = 900_000


@pytest.mark.parametrize(
    "day",
    [
        dt.datetime(2024, 3, 1, tzinfo=dt.UTC),  # a strong market: many candidates
        dt.datetime(2024, 5, 15, tzinfo=dt.UTC),  # a range
        dt.datetime(2024, 8, 5, tzinfo=dt.UTC),  # a crash
    ],
)
def test_sweep_when_real_day_then_sound_per_layer_and_rules_out_most_steps(day: dt.datetime) -> None:
    market = load_market_data(MARKET_DATA, None, None, None)
    feed = ReplayMarketFeed("sandbox", market.series, market.pairs)
    start = to_ms(day)
    times = list(range(start, start + 86_400_000, STEP_MS))
    templates = feed.snapshots_at(times[-1])
    ruled_out = candidates = 0
    for template in templates.values():
        out, found = check_steps(template, times)
        ruled_out += out
        candidates += found
    steps = len(times) * len(templates)
    assert ruled_out > 0.8 * steps, (ruled_out, steps)
    if day.month == 3:
        assert candidates > 0, "the day was chosen for its candidates"
