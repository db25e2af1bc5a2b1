from __future__ import annotations

import pytest

from analysis.builders import candles, path, snapshot
from qari.analysis.context import AnalysisContext
from qari.analysis.setup_levels import STOP_BUFFER, choose_stop, choose_targets

# swing lows at 95, 88 and 60 below a price of ~100; swing highs at 120, 112, 115 above it
CLOSES = path(130, 60, 120, 88, 112, 95, 115, 100, steps=6)


def _ctx() -> AnalysisContext:
    return AnalysisContext(snapshot(candles(CLOSES)))


def test_stop_when_trigger_too_tight_then_first_structural_low_inside_the_band() -> None:
    stop, source = choose_stop(_ctx(), 100.0, 99.0, "order block")

    assert stop == pytest.approx((88 - 0.2) * (1 - STOP_BUFFER))
    assert source == "15m swing low"


def test_stop_when_no_structural_low_in_band_then_trigger_low_kept_not_clamped() -> None:
    stop, source = choose_stop(_ctx(), 100.0, 59.0, "swing failure")  # already > 30 % below

    assert stop == pytest.approx(59.0 * (1 - STOP_BUFFER))
    assert source == "swing failure"


def test_targets_when_liquidity_above_then_unswept_swing_highs_in_ascending_order() -> None:
    targets = choose_targets(_ctx(), 100.0, 100.0, 12.0)

    levels = [round(t, 6) for t, _ in targets]
    assert levels[:2] == [115.2, 120.2]
    assert all("liquidity" in s or "equal highs" in s or "extension" in s for _, s in targets)
