from __future__ import annotations

import numpy as np
import pytest

from analysis.builders import candles, path, snapshot, with_candle
from qari.analysis.context import AnalysisContext
from qari.analysis.features import structure_of
from qari.analysis.layer import Vote
from qari.analysis.layers.order_blocks import OrderBlocksFvg
from qari.analysis.primitives import indicators
from qari.analysis.primitives.gaps import bullish_fvgs, grade_of
from qari.analysis.primitives.order_blocks import find_order_blocks
from qari.core.market import CandleSeries

# down to 100, swing high ~106, pull back with down candles to 101, impulse to 115 breaking 106.2
SETUP = [*path(120, 110, steps=8), *path(110, 100, 106, 101, steps=6)[1:], *path(101, 115, steps=4)[1:]]
SETUP += path(115, 112, steps=3)[1:]


def _blocks(s: CandleSeries):
    st = structure_of(s, 3)
    breaks = [b.index for b in st.breaks if b.direction == "bullish"]
    atr = float(indicators.atr(s.high, s.low, s.close)[-1])
    return find_order_blocks(s.open, s.high, s.low, s.close, s.volume, atr, 100.0, breaks, True)


def test_order_block_when_impulse_breaks_structure_then_last_down_candle_is_the_block() -> None:
    s = candles(SETUP)

    blocks = _blocks(s)

    assert len(blocks) == 1
    ob = blocks[0]
    assert s.close[ob.index] < s.open[ob.index]
    assert ob.low == pytest.approx(100.8)
    assert ob.high == pytest.approx(101.0 + 5.0 / 6.0 + 0.2)  # the candle 101.83 -> 101.00
    assert ob.state == "active"
    assert 0 <= ob.quality <= 100


def test_order_block_when_price_revisits_then_active_mitigated_negated_breaker() -> None:
    s = candles(SETUP)
    states = [_blocks(s)[0].state]
    s = with_candle(s, o=112.0, h=112.2, low=102.0, c=103.0)  # trades into the zone, holds
    states.append(_blocks(s)[0].state)
    s = with_candle(s, o=103.0, h=103.2, low=99.0, c=99.5)  # closes below the zone
    states.append(_blocks(s)[0].state)
    s = with_candle(s, o=99.5, h=101.5, low=99.3, c=100.5)  # back up into the zone from below
    states.append(_blocks(s)[0].state)

    assert states == ["active", "mitigated", "negated", "breaker"]


def test_order_block_layer_when_price_at_fresh_block_then_agree_with_quality_and_realism() -> None:
    s = with_candle(candles(SETUP), o=112.0, h=112.2, low=101.9, c=102.4, v=100.0)

    r = OrderBlocksFvg().evaluate(AnalysisContext(snapshot(s)))

    assert r.vote == Vote.AGREE
    block = r.evidence["entry_block"]
    assert block["state"] == "mitigated"
    assert 0 <= block["quality"] <= 100
    assert 0 < block["realism"] <= 1


def _gap_series(mid_close: float, mid_high: float, mid_volume: float, third_low: float):
    closes = [100.0 + 0.3 * ((-1) ** i) for i in range(24)]
    s = candles(closes, wick=0.5)
    s = with_candle(s, o=100.0, h=100.5, low=99.5, c=100.2)
    s = with_candle(s, o=100.2, h=mid_high, low=100.1, c=mid_close, v=mid_volume)
    return with_candle(s, o=mid_close, h=mid_close + 0.8, low=third_low, c=mid_close + 0.5)


def _fvgs(s: CandleSeries, htf: bool):
    atr = indicators.atr(s.high, s.low, s.close)
    return bullish_fvgs(s.open, s.high, s.low, s.close, s.volume, atr, float(np.median(s.volume)), htf)


def test_fvg_when_impulsive_with_volume_and_htf_then_grade_a() -> None:
    gaps = _fvgs(_gap_series(103.0, 103.2, 300.0, 101.0), htf=True)

    assert [(g.low, g.high, g.grade) for g in gaps] == [(100.5, 101.0, "A")]


def test_fvg_when_impulsive_without_htf_alignment_then_grade_b() -> None:
    gaps = _fvgs(_gap_series(103.0, 103.2, 300.0, 101.0), htf=False)

    assert [g.grade for g in gaps] == ["B"]


def test_fvg_when_middle_candle_not_impulsive_then_grade_c() -> None:
    gaps = _fvgs(_gap_series(100.8, 101.0, 300.0, 100.6), htf=True)

    assert [(g.low, g.high, g.grade) for g in gaps] == [(100.5, 100.6, "C")]


def test_fvg_when_price_trades_back_through_then_filled() -> None:
    s = _gap_series(103.0, 103.2, 300.0, 101.0)
    s = with_candle(s, o=103.5, h=103.6, low=100.4, c=100.9)

    assert [g.filled for g in _fvgs(s, htf=True)] == [True]


def test_fvg_grade_table() -> None:
    assert grade_of(True, True, True) == "A"
    assert grade_of(True, True, False) == "B"
    assert grade_of(True, False, True) == "B"
    assert grade_of(True, False, False) == "C"
    assert grade_of(False, True, True) == "C"
