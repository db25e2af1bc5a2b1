"""L06 Fibonacci: retracement of the last impulse leg (last swing low to the highest high since);
price in the golden pocket (61.8 %–65 %) agrees."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qari.analysis.bounds import ABSTAIN, AGAINST, AGREE, EPS, NEUTRAL, Bound
from qari.analysis.context import AnalysisContext, Frame
from qari.analysis.features import History, range_max
from qari.analysis.layer import LayerResult, Vote, abstain, result
from qari.core.market import IntArray

CODE = 6
NAME = "Fibonacci"
GP_LOW = 0.618
GP_HIGH = 0.65
POCKET_SCORE = 1.0
FAILED_LEG = 1.0  # a retracement beyond the whole leg: price under its start


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
                POCKET_SCORE,
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
        if r > FAILED_LEG:
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


def bound(history: History, n: IntArray) -> Bound:
    """`evaluate` at window ends n: the golden pocket of the window's last impulse leg (exact, within
    rounding of the retracement)."""
    p = history.pivots
    has_high = (history.high_pos_last >= history.high_pos_first)[n]
    size = n.shape[0]
    kind = np.full(size, ABSTAIN, dtype=np.int8)
    if p.high_idx.shape[0] == 0 or p.low_idx.shape[0] == 0:
        return Bound(kind, np.ones(size))
    top = p.high_idx[np.clip(history.high_pos_last[n], 0, p.high_idx.shape[0] - 1)]
    low_pos = np.searchsorted(p.low_idx, top, side="left") - 1  # the last swing low before the top
    leg = has_high & (low_pos >= history.low_pos_first[n]) & (low_pos >= 0)
    rows = np.flatnonzero(leg)
    leg_start = p.low_idx[np.maximum(low_pos[rows], 0)]
    low = history.low[leg_start]
    high = range_max(history.high, leg_start, n[rows])
    valid = high > low
    rows, low, high = rows[valid], low[valid], high[valid]
    retracement = (high - history.close[n[rows] - 1]) / (high - low)
    pocket = (retracement >= GP_LOW - EPS) & (retracement <= GP_HIGH + EPS)
    kind[rows] = np.where(pocket, AGREE, np.where(retracement > FAILED_LEG + EPS, AGAINST, NEUTRAL))
    return Bound(kind, np.full(size, POCKET_SCORE))
