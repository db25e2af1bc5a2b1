"""Liquidity pools (resting stops beyond swing extremes, equal highs/lows, round numbers) and
swing failure patterns (a wick beyond a pool that closes back inside)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qari.core.market import FloatArray, IntArray

MIN_CANDLE_RANGE = 1e-12  # a candle's high - low, at least (a reaction is measured against it)


@dataclass(frozen=True, slots=True)
class Sfp:
    index: int  # candle that swept and closed back
    direction: str  # "bullish" (swept a low) | "bearish" (swept a high)
    level: float
    pivot_index: int
    extreme: float  # the wick's low (bullish) or high (bearish)
    quality: float  # 0..100
    depth_atr: float
    reaction: float
    volume_ratio: float
    timeframe: str = ""
    bars_ago: int = 0


def unswept(piv_idx: IntArray, piv_px: FloatArray, extreme: FloatArray, upto: int, highs: bool) -> IntArray:
    """Positions (into the pivot arrays) of pivots not traded through between the pivot and `upto` (excl.)."""
    if piv_idx.shape[0] == 0 or upto <= 0:
        return np.empty(0, dtype=np.int64)
    seg = extreme[:upto][::-1]
    run = (np.maximum.accumulate(seg) if highs else np.minimum.accumulate(seg))[::-1]
    run = np.concatenate((run, [-np.inf if highs else np.inf]))
    after = np.minimum(piv_idx + 1, upto)
    known = piv_idx < upto
    ok = (run[after] <= piv_px) if highs else (run[after] >= piv_px)
    return np.flatnonzero(known & ok).astype(np.int64)


def round_levels(price: float) -> tuple[float, float]:
    """The round numbers just below and above `price` (steps of 5 × 10^(digits-2))."""
    if price <= 0 or not math.isfinite(price):
        return (0.0, 0.0)
    step = 5.0 * 10.0 ** (math.floor(math.log10(price)) - 1)
    below = math.floor(price / step) * step
    return (below, below + step)


def find_sfps(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    piv_hi: tuple[IntArray, FloatArray],
    piv_lo: tuple[IntArray, FloatArray],
    k: int,
    atr: float,
    volume_median: float,
    lookback: int = 3,
    timeframe: str = "",
) -> list[Sfp]:
    """SFPs on the last `lookback` candles against swing levels confirmed before each candle."""
    n = close.shape[0]
    out: list[Sfp] = []
    for j in range(max(0, n - lookback), n):
        for highs, (idx, px) in ((False, piv_lo), (True, piv_hi)):
            confirmed = idx + k < j
            # a level can only be swept-and-reclaimed if it lies between the wick and the close
            inside = (px < high[j]) & (px > close[j]) if highs else (px > low[j]) & (px < close[j])
            if not (confirmed & inside).any():
                continue
            live = unswept(idx[confirmed], px[confirmed], high if highs else low, j, highs)
            if live.shape[0] == 0:
                continue
            levels = px[confirmed][live]
            pidx = idx[confirmed][live]
            if highs:
                hit = np.flatnonzero((high[j] > levels) & (close[j] < levels))
            else:
                hit = np.flatnonzero((low[j] < levels) & (close[j] > levels))
            if hit.shape[0] == 0:
                continue
            # the outermost level swept is the one whose stops were taken
            best = int(hit[np.argmax(levels[hit])]) if highs else int(hit[np.argmin(levels[hit])])
            found = _score(
                j, highs, float(levels[best]), int(pidx[best]), high, low, close, volume, atr, volume_median
            )
            out.append(replace(found, timeframe=timeframe, bars_ago=n - 1 - j))
    return out


def _score(
    j: int,
    highs: bool,
    level: float,
    pivot: int,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    atr: float,
    volume_median: float,
) -> Sfp:
    rng = max(float(high[j] - low[j]), MIN_CANDLE_RANGE)
    if highs:
        depth = float(high[j]) - level
        reaction = (float(high[j]) - float(close[j])) / rng
        extreme = float(high[j])
    else:
        depth = level - float(low[j])
        reaction = (float(close[j]) - float(low[j])) / rng
        extreme = float(low[j])
    depth_atr = depth / atr if atr > 0 else 0.0
    vol_ratio = float(volume[j]) / volume_median if volume_median > 0 else 1.0
    quality = sfp_quality(depth_atr, reaction, vol_ratio)
    return Sfp(
        j, "bearish" if highs else "bullish", level, pivot, extreme, quality, depth_atr, reaction, vol_ratio
    )


def sfp_quality(depth_atr: Any, reaction: Any, vol_ratio: Any, lo: Any = min, hi: Any = max) -> Any:
    """0..100 from the wick's depth (in ATR), the close's reaction off the wick and the volume ratio.
    Floats by default; NumPy arrays with `lo=np.minimum, hi=np.maximum` (`analysis.sweep`)."""
    return 100.0 * (
        0.35 * lo(depth_atr / 1.0, 1.0) + 0.35 * lo(hi(reaction, 0.0), 1.0) + 0.30 * lo(vol_ratio / 2.5, 1.0)
    )
