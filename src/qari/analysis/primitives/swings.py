"""Swing pivots (fractals): a bar whose high/low is the extreme of `k` bars either side.

A pivot at index `i` is only *known* once bar `i + k` has closed, so every consumer works with pivots
whose confirmation index is at most the last closed bar — no look-ahead by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qari.core.market import CandleSeries, FloatArray, IntArray

DEFAULT_K = 3


@dataclass(frozen=True, slots=True)
class Pivots:
    k: int
    high_idx: IntArray
    high_px: FloatArray
    low_idx: IntArray
    low_px: FloatArray


def _pivot_mask(x: FloatArray, k: int, highs: bool) -> IntArray:
    n = x.shape[0]
    if n < 2 * k + 1:
        return np.empty(0, dtype=np.int64)
    centre = x[k : n - k]
    mask = np.ones(n - 2 * k, dtype=bool)
    for d in range(1, k + 1):
        left = x[k - d : n - k - d]
        right = x[k + d : n - k + d]
        if highs:
            mask &= (centre > left) & (centre >= right)
        else:
            mask &= (centre < left) & (centre <= right)
    return np.flatnonzero(mask).astype(np.int64) + k


def find_pivots(high: FloatArray, low: FloatArray, k: int = DEFAULT_K) -> Pivots:
    hi = _pivot_mask(high, k, True)
    lo = _pivot_mask(low, k, False)
    return Pivots(k, hi, high[hi], lo, low[lo])


def latest_higher_low(series: CandleSeries, k: int = DEFAULT_K) -> float | None:
    """The most recent confirmed swing low if it is higher than the one before it, else None.

    Used for the structural trailing stop; pass closed candles only.
    """
    p = find_pivots(series.high, series.low, k)
    if p.low_px.shape[0] < 2:
        return None
    last, prev = float(p.low_px[-1]), float(p.low_px[-2])
    return last if last > prev else None
