"""The rules' outcome of a candidate is read from later candles only, and known at `outcome_ms`."""

from __future__ import annotations

import numpy as np

from qari.core.market import CandleSeries
from qari.learning.labels import FEE, label

STEP = 900_000


def series(lows: list[float], highs: list[float]) -> CandleSeries:
    n = len(lows)
    ts = np.arange(n, dtype=np.int64) * STEP
    close = (np.array(lows) + np.array(highs)) / 2
    return CandleSeries("X/USDT", "15m", ts, close.copy(), np.array(highs), np.array(lows), close, np.ones(n))


def test_stop_loss_costs_one_r_plus_fees_and_is_known_at_the_stop_candle() -> None:
    s = series([100, 100, 99, 98, 84, 84], [101, 101, 101, 100, 99, 90])
    out = label(s, decided_ms=2 * STEP, entry=100.0, stop=85.0, pt1=120.0, pt2=140.0)
    assert out is not None
    assert out.exit == "stop"
    assert out.entry_ms == 3 * STEP  # filled by candle 2 (opening at the decision), known at its close
    assert out.outcome_ms == 5 * STEP  # the stop candle (index 4) closes at 5 steps
    assert out.r == round((85 * (1 - FEE) - 100 - 100 * FEE) / 15, 6)


def test_targets_then_break_even() -> None:
    s = series([100, 99, 110, 118, 99], [101, 102, 121, 141, 120])
    out = label(s, decided_ms=STEP, entry=100.0, stop=85.0, pt1=120.0, pt2=140.0)
    assert out is not None
    # PT1 40 %, PT2 30 %, the last 30 % is trailed to PT1 and left open at the last close
    assert out.r > 0.4 * (120 - 100) / 15
    assert out.outcome_ms == 5 * STEP


def test_candles_before_the_decision_never_change_the_label() -> None:
    lows = [100, 50, 300, 99, 98, 84, 84]
    highs = [101, 400, 500, 101, 100, 99, 90]
    before = label(series(lows, highs), 3 * STEP, 100.0, 85.0, 120.0, 140.0)
    lows[:3], highs[:3] = [1, 1, 1], [1000, 1000, 1000]
    after = label(series(lows, highs), 3 * STEP, 100.0, 85.0, 120.0, 140.0)
    assert before == after
    assert before is not None and before.entry_ms > 3 * STEP


def test_the_gate_refuses_plans_outside_the_band_or_under_two_r() -> None:
    s = series([100] * 5, [101] * 5)
    assert label(s, 0, 100.0, 95.0, 120.0, 140.0) is None  # stop 5 % away
    assert label(s, 0, 100.0, 85.0, 110.0, 125.0) is None  # R/R under 2
