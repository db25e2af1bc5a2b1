"""Market structure from swing pivots: breaks of structure (BOS / CHoCH) and the trend state.

A bullish break is the first close above the most recent confirmed swing high (the reference high is
always the latest one known at that bar); bearish mirrors it on swing lows. A break against the
prevailing break direction is a change of character (CHoCH); with it, a break of structure (BOS).
`analysis.features.History` finds the breaks (`first_crosses`) and the trend state of every window once;
a window's `Structure` is read from it (`History.window_structure`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qari.analysis.primitives.swings import Pivots
from qari.core.market import FloatArray, IntArray

BULLISH = "BULLISH"
BEARISH = "BEARISH"
RANGE = "RANGE"


@dataclass(frozen=True, slots=True)
class Break:
    index: int  # the candle whose close broke the level
    direction: str  # "bullish" | "bearish"
    kind: str  # "BOS" | "CHoCH"
    level: float
    pivot_index: int


@dataclass(frozen=True, slots=True)
class Structure:
    state: str
    pattern: str
    breaks: tuple[Break, ...]
    pivots: Pivots

    @property
    def last_break(self) -> Break | None:
        return self.breaks[-1] if self.breaks else None


def first_crosses(
    piv_idx: IntArray, piv_px: FloatArray, close: FloatArray, k: int, above: bool
) -> tuple[IntArray, FloatArray, IntArray]:
    """Each reference pivot's first close beyond it, oldest first: the breaking candles, the levels and
    the pivots' candles."""
    n = close.shape[0]
    none = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int64))
    if piv_idx.shape[0] == 0:
        return none
    confirm = piv_idx + k
    # for each bar, the latest pivot confirmed strictly before it
    ref = np.searchsorted(confirm, np.arange(n), side="left") - 1
    valid = ref >= 0
    level = np.where(valid, piv_px[np.maximum(ref, 0)], np.nan)
    with np.errstate(invalid="ignore"):
        crossed = valid & ((close > level) if above else (close < level))
    hit_bars = np.flatnonzero(crossed)
    if hit_bars.shape[0] == 0:
        return none
    hit_refs = ref[hit_bars]  # non-decreasing: the reference pivot only ever moves forward
    first = np.flatnonzero(np.concatenate(([True], hit_refs[1:] != hit_refs[:-1])))
    refs = hit_refs[first]
    return hit_bars[first].astype(np.int64), piv_px[refs], piv_idx[refs]


def equal_levels(
    px: FloatArray, idx: IntArray, tolerance: float, highs: bool
) -> list[tuple[float, int, int]]:
    """Adjacent swing extremes within `tolerance` of each other (EQH/EQL): (level, first_idx, last_idx).

    The level is the outer extreme of the pair (the top of equal highs, the bottom of equal lows): that
    is where the resting stops sit.
    """
    if px.shape[0] < 2:
        return []
    near = np.flatnonzero(np.abs(np.diff(px)) <= tolerance)
    pick = max if highs else min
    return [(float(pick(px[j], px[j + 1])), int(idx[j]), int(idx[j + 1])) for j in near]
