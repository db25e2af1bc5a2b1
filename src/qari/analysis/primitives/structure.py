"""Market structure from swing pivots: breaks of structure (BOS / CHoCH) and the trend state.

A bullish break is the first close above the most recent confirmed swing high (the reference high is
always the latest one known at that bar); bearish mirrors it on swing lows. A break against the
prevailing break direction is a change of character (CHoCH); with it, a break of structure (BOS).
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
) -> list[tuple[int, float, int]]:
    """Each reference pivot's first close beyond it, as (bar, level, pivot index), oldest first."""
    n = close.shape[0]
    if piv_idx.shape[0] == 0:
        return []
    confirm = piv_idx + k
    # for each bar, the latest pivot confirmed strictly before it
    ref = np.searchsorted(confirm, np.arange(n), side="left") - 1
    valid = ref >= 0
    level = np.where(valid, piv_px[np.maximum(ref, 0)], np.nan)
    with np.errstate(invalid="ignore"):
        crossed = valid & ((close > level) if above else (close < level))
    hit_bars = np.flatnonzero(crossed)
    if hit_bars.shape[0] == 0:
        return []
    hit_refs = ref[hit_bars]  # non-decreasing: the reference pivot only ever moves forward
    first = np.flatnonzero(np.concatenate(([True], hit_refs[1:] != hit_refs[:-1])))
    bars = hit_bars[first].tolist()
    refs = hit_refs[first].tolist()
    px = piv_px.tolist()
    idx = piv_idx.tolist()
    return [(b, px[r], idx[r]) for b, r in zip(bars, refs, strict=True)]


def pattern_of(p: Pivots) -> str:
    if p.high_px.shape[0] < 2 or p.low_px.shape[0] < 2:
        return RANGE
    hh = p.high_px[-1] > p.high_px[-2]
    hl = p.low_px[-1] > p.low_px[-2]
    lh = p.high_px[-1] < p.high_px[-2]
    ll = p.low_px[-1] < p.low_px[-2]
    if hh and hl:
        return BULLISH
    if lh and ll:
        return BEARISH
    return RANGE


def analyse_structure(close: FloatArray, p: Pivots) -> Structure:
    events = [(b, "bullish", lvl, i) for b, lvl, i in first_crosses(p.high_idx, p.high_px, close, p.k, True)]
    events += [(b, "bearish", lvl, i) for b, lvl, i in first_crosses(p.low_idx, p.low_px, close, p.k, False)]
    events.sort(key=lambda e: (e[0], e[1]))
    trend: str | None = None
    breaks: list[Break] = []
    for bar, direction, lvl, piv in events:
        kind = "CHoCH" if trend is not None and trend != direction else "BOS"
        breaks.append(Break(bar, direction, kind, lvl, piv))
        trend = direction
    pattern = pattern_of(p)
    state = pattern
    last_confirm = max(
        int(p.high_idx[-1]) + p.k if p.high_idx.shape[0] else -1,
        int(p.low_idx[-1]) + p.k if p.low_idx.shape[0] else -1,
    )
    if breaks and breaks[-1].kind == "CHoCH" and breaks[-1].index > last_confirm:
        state = BULLISH if breaks[-1].direction == "bullish" else BEARISH
    return Structure(state, pattern, tuple(breaks), p)


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
