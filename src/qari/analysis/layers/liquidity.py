"""L02 Liquidity & SFP: buy-side liquidity above, sell-side below, swing failure patterns scored by
wick depth, reaction and volume, and a zone-clarity score for the level in play."""

from __future__ import annotations

from typing import Any

import numpy as np

from qari.analysis.bounds import EPS, Bound, at_least, may_agree
from qari.analysis.context import AnalysisContext, Frame
from qari.analysis.layer import LayerResult, Vote, abstain, result
from qari.analysis.primitives.liquidity import Sfp, round_levels, unswept
from qari.core.market import FloatArray

CODE = 2
NAME = "Liquidity & SFP"
MIN_QUALITY = 40.0


def pools(fr: Frame) -> tuple[list[float], list[float]]:
    """Unswept swing highs above the last close and unswept swing lows below it (nearest first)."""
    p = fr.pivots
    known_hi = p.high_idx + fr.k < fr.n
    known_lo = p.low_idx + fr.k < fr.n
    hi_live = unswept(p.high_idx[known_hi], p.high_px[known_hi], fr.high, fr.n, True)
    lo_live = unswept(p.low_idx[known_lo], p.low_px[known_lo], fr.low, fr.n, False)
    above = np.sort(p.high_px[known_hi][hi_live])
    below = np.sort(p.low_px[known_lo][lo_live])[::-1]
    price = fr.last
    return [float(x) for x in above if x > price], [float(x) for x in below if x < price]


def clarity(level: float, others: list[float], atr: float) -> float:
    """1 when the level stands alone; each other pool within one ATR muddies it."""
    crowd = sum(1 for x in others if x != level and abs(x - level) <= atr)
    return 1.0 / (1.0 + crowd)


def _sfp_dict(s: Sfp) -> dict[str, Any]:
    return {
        "timeframe": s.timeframe,
        "direction": s.direction,
        "level": s.level,
        "wick": s.extreme,
        "quality": round(s.quality, 2),
        "depth_atr": s.depth_atr,
        "reaction": s.reaction,
        "volume_ratio": s.volume_ratio,
        "bars_ago": s.bars_ago,
    }


def could_agree(ctx: AnalysisContext) -> bool:
    """This layer agrees only on a bullish SFP of quality; cheaper to ask than a full evaluation."""
    bull = ctx.bullish_sfp
    return ctx.entry is not None and bull is not None and bull.quality >= MIN_QUALITY


class LiquiditySfp:
    code = CODE
    name = NAME

    def evaluate(self, ctx: AnalysisContext) -> LayerResult:
        fr = ctx.entry
        if fr is None:
            return abstain(CODE, NAME, f"Not enough closed {ctx.entry_tf} candles to map liquidity.")
        above, below = pools(fr)
        round_below, round_above = round_levels(fr.last)
        bull = ctx.bullish_sfp
        bears = [s for s in ctx.sfps if s.direction == "bearish"]
        evidence: dict[str, Any] = {
            "buy_side": above[:5],
            "sell_side": below[:5],
            "round_above": round_above,
            "round_below": round_below,
            "sfps": [_sfp_dict(s) for s in ctx.sfps],
        }
        if bull is not None:
            zc = clarity(bull.level, [*below, bull.level], fr.atr)
            evidence["zone_clarity"] = zc
            if could_agree(ctx):
                score = sfp_score(bull.quality, zc)
                return result(
                    CODE,
                    NAME,
                    Vote.AGREE,
                    score,
                    evidence,
                    f"A {bull.timeframe} swing failure swept the sell-side liquidity at "
                    f"{bull.level:.6g} and closed back above it "
                    f"(quality {bull.quality:.0f}/100).",
                )
        if bears and bull is None:
            b = max(bears, key=lambda s: s.quality)
            evidence["zone_clarity"] = clarity(b.level, [*above, b.level], fr.atr)
            return result(
                CODE,
                NAME,
                Vote.AGAINST,
                0.1,
                evidence,
                f"Buyers were trapped above {b.level:.6g}: a bearish swing failure closed back below it.",
            )
        zc = clarity(below[0], below, fr.atr) if below else 0.0
        evidence["zone_clarity"] = zc
        return result(
            CODE,
            NAME,
            Vote.NEUTRAL,
            0.3 * zc,
            evidence,
            f"No swing failure on the latest candles; nearest sell-side liquidity "
            f"{_fmt(below[0] if below else None)}, buy-side {_fmt(above[0] if above else None)}.",
        )


def _fmt(x: float | None) -> str:
    return "none in range" if x is None else f"{x:.6g}"


def sfp_score(quality: Any, clarity: Any) -> Any:
    """The agreeing score from the SFP's quality (0..100) and the zone's clarity (0..1); floats or arrays."""
    return 0.75 * quality / 100.0 + 0.25 * clarity


def bound(best_quality: FloatArray) -> Bound:
    """`evaluate` at best, given a bound on the best bullish SFP quality at each step (entry and 4h,
    -1: none): it agrees only on one of quality, and a clear zone scores at most 1."""
    maybe = at_least(best_quality, MIN_QUALITY)
    return may_agree(maybe, sfp_score(np.minimum(best_quality, 100.0) * (1 + EPS), 1.0))
