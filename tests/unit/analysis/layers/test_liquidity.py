from __future__ import annotations

from analysis.builders import candles, htf, path, snapshot, with_candle
from qari.analysis.context import AnalysisContext
from qari.analysis.layer import Vote
from qari.analysis.layers.liquidity import LiquiditySfp, clarity
from qari.analysis.primitives.liquidity import round_levels

BASE = path(110, 100, 108, 103, 107, steps=8)  # swing low at 100 (low 99.8), then a bounce


def test_sfp_when_wick_through_swing_low_closes_back_inside_then_bullish_sfp_at_that_level() -> None:
    s = with_candle(candles(BASE), o=104.0, h=104.5, low=98.5, c=103.5, v=300.0)

    ctx = AnalysisContext(snapshot(s))
    r = LiquiditySfp().evaluate(ctx)

    sfp = ctx.bullish_sfp
    assert sfp is not None
    assert sfp.level == 99.8
    assert sfp.extreme == 98.5
    assert sfp.quality > 60
    assert r.vote == Vote.AGREE
    assert r.evidence["sfps"][0]["level"] == 99.8
    assert 0.0 <= r.evidence["zone_clarity"] <= 1.0


def test_sfp_when_candle_closes_below_the_swing_low_then_no_sfp() -> None:
    s = with_candle(candles(BASE), o=104.0, h=104.5, low=98.5, c=99.0, v=300.0)

    ctx = AnalysisContext(snapshot(s))

    assert ctx.bullish_sfp is None


def test_sfp_when_wick_above_swing_high_closes_back_below_then_bearish_and_against() -> None:
    base = path(100, 110, 102, 106, steps=11)  # swing high at 110 (high 110.2)
    s = with_candle(candles(base), o=106.0, h=111.5, low=105.8, c=106.5, v=250.0)

    r = LiquiditySfp().evaluate(AnalysisContext(snapshot(s)))

    assert r.vote == Vote.AGAINST
    assert r.evidence["sfps"][0]["direction"] == "bearish"
    assert r.evidence["sfps"][0]["level"] == 110.2


def test_sfp_quality_when_volume_spike_larger_then_quality_higher() -> None:
    quiet = with_candle(candles(BASE), o=104.0, h=104.5, low=98.5, c=103.5, v=100.0)
    loud = with_candle(candles(BASE), o=104.0, h=104.5, low=98.5, c=103.5, v=400.0)

    q_quiet = AnalysisContext(snapshot(quiet)).bullish_sfp
    q_loud = AnalysisContext(snapshot(loud)).bullish_sfp

    assert q_quiet is not None and q_loud is not None
    assert q_loud.quality > q_quiet.quality


def test_pools_when_levels_above_and_below_then_split_by_side() -> None:
    r = LiquiditySfp().evaluate(AnalysisContext(snapshot(candles(BASE))))

    assert all(x > 107 for x in r.evidence["buy_side"])
    assert 99.8 in r.evidence["sell_side"]
    assert r.vote == Vote.NEUTRAL


def test_round_levels_when_price_given_then_bracketing_round_numbers() -> None:
    assert round_levels(63_421.0) == (60_000.0, 65_000.0)
    low, high = round_levels(0.5432)
    assert abs(low - 0.5) < 1e-12 and abs(high - 0.55) < 1e-12


def test_zone_clarity_when_crowded_then_lower() -> None:
    assert clarity(100.0, [100.0], 1.0) == 1.0
    assert clarity(100.0, [100.0, 100.5, 99.6], 1.0) == 1.0 / 3.0


def test_sfp_when_last_closed_4h_candle_sweeps_a_4h_swing_low_then_4h_sfp_agrees() -> None:
    h4 = with_candle(
        htf(path(110, 100, 108, 103, 107, steps=4), "4h"), o=107.0, h=107.5, low=98.0, c=106.0, v=300.0
    )
    entry = candles(path(106, 107, 106.5, 107.2, steps=12))

    ctx = AnalysisContext(snapshot(entry, h4=h4))
    r = LiquiditySfp().evaluate(ctx)

    assert ctx.bullish_sfp is not None
    assert (ctx.bullish_sfp.timeframe, ctx.bullish_sfp.level) == ("4h", 99.5)
    assert r.vote == Vote.AGREE
    assert r.explanation.startswith("A 4h swing failure")
