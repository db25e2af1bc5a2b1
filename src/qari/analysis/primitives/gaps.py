"""Fair value gaps: three-candle imbalances (candle 3's low above candle 1's high, for a bullish gap)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qari.core.market import FloatArray

IMPULSE_ATR = 1.2
VOLUME_SPIKE = 1.5
RECENT = 60  # gaps whose third candle is among the last RECENT candles


@dataclass(frozen=True, slots=True)
class Fvg:
    index: int  # the third candle
    low: float
    high: float
    impulsive: bool
    volume: bool
    htf_aligned: bool
    grade: str  # "A" | "B" | "C"
    filled: bool  # traded fully through since


def grade_of(impulsive: bool, volume: bool, htf_aligned: bool) -> str:
    """A: impulsive + volume + HTF alignment; B: impulsive with one of the two; C: anything less."""
    if impulsive and volume and htf_aligned:
        return "A"
    if impulsive and (volume or htf_aligned):
        return "B"
    return "C"


def bullish_fvgs(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    atr_series: FloatArray,
    volume_median: float,
    htf_aligned: bool,
    lookback: int = RECENT,
) -> list[Fvg]:
    n = close.shape[0]
    if n < 3:
        return []
    third = np.arange(2, n)
    gap = low[2:] > high[:-2]
    recent = third >= n - lookback
    picks = third[gap & recent]
    if picks.shape[0] == 0:
        return []
    rev_min = np.minimum.accumulate(low[::-1])[::-1]
    suffix_min = np.concatenate((rev_min, [np.inf]))
    out = []
    for i in picks.tolist():
        mid = i - 1
        body = abs(float(close[mid]) - float(open_[mid]))
        impulsive = close[mid] > open_[mid] and body >= IMPULSE_ATR * float(atr_series[max(mid - 1, 0)])
        vol = volume_median > 0 and float(volume[mid]) >= VOLUME_SPIKE * volume_median
        lo, hi = float(high[i - 2]), float(low[i])
        filled = bool(suffix_min[i + 1] <= lo)
        out.append(
            Fvg(
                i,
                lo,
                hi,
                bool(impulsive),
                bool(vol),
                htf_aligned,
                grade_of(bool(impulsive), bool(vol), htf_aligned),
                filled,
            )
        )
    return out
