"""L03 Order blocks & FVG: the last down candle before a structure-breaking impulse (quality 0–100,
realism 0–1, lifecycle), and fair value gaps graded A (full weight), B (only with an SFP), C (ignored)."""

from __future__ import annotations

from typing import Any

import numpy as np

from qari.analysis.bounds import EPS, BoolArray, Bound, at_least, may_agree
from qari.analysis.context import AnalysisContext
from qari.analysis.features import History
from qari.analysis.layer import LayerResult, Vote, abstain, result
from qari.analysis.primitives import gaps
from qari.analysis.primitives.gaps import Fvg
from qari.analysis.primitives.order_blocks import (
    MITIGATED_FACTOR,
    REALISM_DECAY_ATR,
    WIDE_ZONE_ATR,
    WIDE_ZONE_FACTOR,
    OrderBlock,
    block_quality,
    realism,
)
from qari.core.market import FloatArray, IntArray

CODE = 3
NAME = "Order blocks & FVG"
MIN_OB_QUALITY = 45.0
MIN_REALISM = 0.5
BREAKER_NEAR_ATR = 0.5
GAP_SCORE = {"A": 0.85, "B": 0.6}  # an agreeing gap's score by grade
GAP_BELOW_ATR = 0.25  # price counts as in a gap down to this many ATR under it ...
GAP_ABOVE_ATR = 0.5  # ... and up to this many above it


def best_block(ctx: AnalysisContext) -> tuple[OrderBlock, float] | None:
    fr = ctx.entry
    if fr is None:
        return None
    scored = [(b, realism(b, fr.last, fr.atr)) for b in ctx.order_blocks]
    scored = [(b, r) for b, r in scored if r > 0.0]
    if not scored:
        return None
    return max(scored, key=lambda br: (br[0].quality * br[1], br[0].index))


def price_in_gap(ctx: AnalysisContext, g: Fvg) -> bool:
    fr = ctx.entry
    return (
        fr is not None
        and not g.filled
        and g.low - GAP_BELOW_ATR * fr.atr <= fr.last <= g.high + GAP_ABOVE_ATR * fr.atr
    )


def active_gap(ctx: AnalysisContext) -> Fvg | None:
    """The most recent unfilled gap that price is in or just above and that counts (A, or B with an SFP)."""
    sfp = ctx.bullish_sfp is not None
    for g in reversed(ctx.fvgs):
        if price_in_gap(ctx, g) and (g.grade == "A" or (g.grade == "B" and sfp)):
            return g
    return None


def _ob_dict(b: OrderBlock, real: float, n: int) -> dict[str, Any]:
    return {
        "low": b.low,
        "high": b.high,
        "state": b.state,
        "quality": round(b.quality, 2),
        "realism": real,
        "bars_ago": n - 1 - b.index,
    }


class OrderBlocksFvg:
    code = CODE
    name = NAME

    def evaluate(self, ctx: AnalysisContext) -> LayerResult:
        fr = ctx.entry
        if fr is None:
            return abstain(CODE, NAME, f"Not enough closed {ctx.entry_tf} candles to find order blocks.")
        blocks = ctx.order_blocks
        evidence: dict[str, Any] = {
            "order_blocks": [_ob_dict(b, realism(b, fr.last, fr.atr), fr.n) for b in blocks[-4:]],
            "fvgs": [
                {
                    "low": g.low,
                    "high": g.high,
                    "grade": g.grade,
                    "filled": g.filled,
                    "bars_ago": fr.n - 1 - g.index,
                }
                for g in ctx.fvgs[-4:]
            ],
        }
        best = best_block(ctx)
        gap = active_gap(ctx)
        if best is not None and best[0].quality >= MIN_OB_QUALITY and best[1] >= MIN_REALISM:
            b, real = best
            evidence["entry_block"] = _ob_dict(b, real, fr.n)
            return result(
                CODE,
                NAME,
                Vote.AGREE,
                block_score(b.quality, real),
                evidence,
                f"Price is at an {b.state} bullish order block {b.low:.6g}–{b.high:.6g} "
                f"(quality {b.quality:.0f}/100, realism {real:.2f}).",
            )
        if gap is not None:
            evidence["entry_gap"] = {"low": gap.low, "high": gap.high, "grade": gap.grade}
            return result(
                CODE,
                NAME,
                Vote.AGREE,
                GAP_SCORE[gap.grade],
                evidence,
                f"Price is in a grade {gap.grade} bullish fair value gap {gap.low:.6g}–{gap.high:.6g}.",
            )
        broken = [
            b
            for b in blocks
            if b.state == "breaker" and fr.last < b.low and b.low - fr.last <= BREAKER_NEAR_ATR * fr.atr
        ]
        if broken:
            b = broken[-1]
            return result(
                CODE,
                NAME,
                Vote.AGAINST,
                0.1,
                evidence,
                f"A failed bullish order block at {b.low:.6g}–{b.high:.6g} "
                "has turned into a breaker above price.",
            )
        return result(
            CODE,
            NAME,
            Vote.NEUTRAL,
            0.2,
            evidence,
            "Price is not at a valid bullish order block or a counting fair value gap.",
        )


def block_score(quality: Any, realism: Any) -> Any:
    """The agreeing score from the block's quality (0..100) and realism (0..1); floats or arrays."""
    return 0.6 * quality / 100.0 + 0.4 * realism


def bound(history: History, n: IntArray, aligned: BoolArray, sfp: BoolArray) -> Bound:
    """`evaluate` at best at window ends n, given the 4h alignment and whether an SFP exists (entry or
    4h): the best block's or counting gap's score, where one may exist."""
    plain, with_alignment = _best_block_scores(history)
    impulsive, on_spike = _counting_gaps(history)
    block = np.where(aligned, with_alignment[n], plain[n])  # the best block's score bound, or -1
    grade_a = on_spike[n] & aligned
    grade_b = (on_spike[n] | (impulsive[n] & aligned)) & sfp
    gap = np.where(grade_a, GAP_SCORE["A"], np.where(grade_b, GAP_SCORE["B"], -1.0))
    best = np.maximum(block, gap)
    return may_agree(best >= 0.0, best)


def _best_block_scores(history: History) -> tuple[FloatArray, FloatArray]:
    """Per window end, without / with HTF alignment: a bound on the best score of a bullish order
    block of the window that may have quality >= MIN_OB_QUALITY and realism >= MIN_REALISM (-1: none)."""
    out = (np.full(history.size + 1, -1.0), np.full(history.size + 1, -1.0))
    blocks = history.order_blocks
    if blocks is None:
        return out
    trusted = blocks.atr_trusted
    wide = np.where(blocks.width_atr > WIDE_ZONE_ATR * (1.0 + EPS), WIDE_ZONE_FACTOR, 1.0)
    mitigated = np.where(blocks.mitigated, MITIGATED_FACTOR, 1.0)
    real = np.exp(-blocks.distance_atr / REALISM_DECAY_ATR) * wide * mitigated
    live = (blocks.price >= blocks.zone_low) & (at_least(real, MIN_REALISM) | ~trusted)
    for htf_aligned, best in ((False, out[0]), (True, out[1])):
        quality = block_quality(
            blocks.displacement_atr,
            blocks.volume_ratio,
            blocks.has_gap,
            htf_aligned,
            lo=np.minimum,
            hi=np.maximum,
        )
        counts = live & (at_least(quality, MIN_OB_QUALITY) | ~trusted)
        score = np.where(trusted, block_score(quality, np.minimum(real, 1.0)) * (1 + EPS), 1.0)
        np.maximum.at(best, blocks.window_end[counts], score[counts])
    return out


def _counting_gaps(history: History) -> tuple[BoolArray, BoolArray]:
    """Per window end: whether the window has a recent unfilled bullish FVG that price is in or just
    above and whose middle candle may be impulsive; and, of those, one on a volume spike."""
    out = (np.zeros(history.size + 1, dtype=bool), np.zeros(history.size + 1, dtype=bool))
    found = history.gaps
    if found is None:
        return out
    price, atr = found.price, found.atr
    in_reach = (price * (1.0 + EPS) >= found.gap_low - GAP_BELOW_ATR * atr * (1.0 + EPS)) & (
        price * (1.0 - EPS) <= found.gap_high + GAP_ABOVE_ATR * atr * (1.0 + EPS)
    )
    counts = found.may_be_impulsive & (in_reach | ~found.atr_trusted)
    median = found.median_volume
    spike = (median > 0) & at_least(found.middle_volume, gaps.VOLUME_SPIKE * median)
    out[0][found.window_end[counts]] = True
    out[1][found.window_end[counts & spike]] = True
    return out
