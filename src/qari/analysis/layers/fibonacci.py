"""L06 Fibonacci: retracement of the last impulse leg (last swing low to the highest high since);
price in the golden pocket (61.8 %–65 %) agrees."""

from __future__ import annotations

from dataclasses import dataclass

from qari.analysis.context import AnalysisContext, Frame
from qari.analysis.layer import LayerResult, Vote, abstain, result

CODE = 6
NAME = "Fibonacci"
GP_LOW = 0.618
GP_HIGH = 0.65


@dataclass(frozen=True, slots=True)
class Leg:
    low: float
    high: float
    retracement: float

    def level(self, ratio: float) -> float:
        return self.high - ratio * (self.high - self.low)


def impulse_leg(fr: Frame) -> Leg | None:
    """The leg from the latest swing low that was followed by a swing high, to the highest high since."""
    p = fr.pivots
    if p.low_idx.shape[0] == 0 or p.high_idx.shape[0] == 0:
        return None
    last_high_idx = int(p.high_idx[-1])
    before = p.low_idx[p.low_idx < last_high_idx]
    if before.shape[0] == 0:
        return None
    lo_idx = int(before[-1])
    low = float(fr.low[lo_idx])
    high = float(fr.high[lo_idx:].max())
    if high <= low:
        return None
    return Leg(low, high, (high - fr.last) / (high - low))


def in_golden_pocket(retracement: float) -> bool:
    return GP_LOW <= retracement <= GP_HIGH


class Fibonacci:
    code = CODE
    name = NAME

    def evaluate(self, ctx: AnalysisContext) -> LayerResult:
        fr = ctx.entry
        if fr is None:
            return abstain(CODE, NAME, f"Not enough closed {ctx.entry_tf} candles for a Fibonacci leg.")
        leg = impulse_leg(fr)
        if leg is None:
            return abstain(CODE, NAME, "No completed impulse leg (swing low then swing high) to measure.")
        r = leg.retracement
        evidence = {
            "leg_low": leg.low,
            "leg_high": leg.high,
            "retracement": r,
            "golden_pocket_low": leg.level(GP_HIGH),
            "golden_pocket_high": leg.level(GP_LOW),
            "in_golden_pocket": in_golden_pocket(r),
        }
        if in_golden_pocket(r):
            return result(
                CODE,
                NAME,
                Vote.AGREE,
                1.0,
                evidence,
                f"Price has retraced {r * 100:.1f} % of the last up-leg, inside the 61.8–65 % golden pocket.",
            )
        if 0.5 <= r <= 0.786:
            return result(
                CODE,
                NAME,
                Vote.NEUTRAL,
                0.5,
                evidence,
                f"Price has retraced {r * 100:.1f} % of the last up-leg: in "
                "the discount zone, outside the pocket.",
            )
        if r > 1.0:
            return result(
                CODE,
                NAME,
                Vote.AGAINST,
                0.0,
                evidence,
                f"Price is below the start of the last up-leg ({leg.low:.6g}); the leg has failed.",
            )
        return result(
            CODE,
            NAME,
            Vote.NEUTRAL,
            0.2,
            evidence,
            f"Price has retraced {r * 100:.1f} % of the last up-leg, away from the golden pocket.",
        )
