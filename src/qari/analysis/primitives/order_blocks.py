"""Bullish order blocks: the last down candle before an impulse that broke structure upwards.

Lifecycle, as price revisits the zone after the break:
    active    untouched since the break
    mitigated price traded back into the zone and it held (no close below)
    negated   a close below the zone: the block failed
    breaker   after negation price came back up into the zone from below (now resistance)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qari.core.market import FloatArray

SEARCH_BACK = 20
REALISM_DECAY_ATR = 3.0  # realism falls by e for every this many ATR price is above the zone
WIDE_ZONE_ATR = 3.0  # a zone taller than this many ATR is less realistic ...
WIDE_ZONE_FACTOR = 0.7  # ... by this factor
MITIGATED_FACTOR = 0.85  # a zone price already traded back into


@dataclass(frozen=True, slots=True)
class OrderBlock:
    index: int  # the order-block candle
    break_index: int
    low: float
    high: float
    state: str
    quality: float  # 0..100
    displacement_atr: float
    volume_ratio: float


def lifecycle(
    low: FloatArray, high: FloatArray, close: FloatArray, start: int, z_low: float, z_high: float
) -> str:
    """State of a zone from candle `start` on (the candle after the confirming break)."""
    below = close[start:] < z_low
    t = int(below.argmax()) if below.shape[0] else 0
    if below.shape[0] == 0 or not below[t]:
        return "mitigated" if start < low.shape[0] and float(low[start:].min()) <= z_high else "active"
    after = high[start + t + 1 :]
    return "breaker" if after.shape[0] and float(after.max()) >= z_low else "negated"


def find_order_blocks(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    atr: float,
    volume_median: float,
    break_indices: list[int],
    htf_aligned: bool,
) -> list[OrderBlock]:
    out: list[OrderBlock] = []
    seen: set[int] = set()
    down = np.flatnonzero(close < open_)
    for b in break_indices:
        # the last down candle at or before the break, within SEARCH_BACK candles of it
        at = int(np.searchsorted(down, b, side="right")) - 1
        if at < 0 or int(down[at]) < b - SEARCH_BACK:
            continue
        j = int(down[at])
        if j in seen or j >= b:
            continue
        seen.add(j)
        z_low, z_high = float(low[j]), float(high[j])
        impulse_top = float(high[j + 1 : b + 1].max())
        displacement = (impulse_top - z_high) / atr if atr > 0 else 0.0
        vol_ratio = float(volume[j + 1 : b + 1].sum()) / (b - j) / volume_median if volume_median > 0 else 1.0
        has_gap = bool((low[j + 2 : b + 1] > high[j : b - 1]).any()) if b - j >= 2 else False
        state = lifecycle(low, high, close, b + 1, z_low, z_high)
        quality = block_quality(displacement, vol_ratio, has_gap, htf_aligned)
        out.append(OrderBlock(j, b, z_low, z_high, state, quality, displacement, vol_ratio))
    return out


def block_quality(
    displacement: Any, vol_ratio: Any, has_gap: Any, htf_aligned: Any, lo: Any = min, hi: Any = max
) -> Any:
    """0..100 from the impulse's displacement (in ATR), its volume, a gap in it and HTF alignment.
    Floats and bools by default; NumPy arrays with `lo=np.minimum, hi=np.maximum` (`analysis.sweep`)."""
    return 100.0 * (
        0.35 * lo(hi(displacement, 0.0) / 4.0, 1.0)
        + 0.25 * lo(vol_ratio / 2.0, 1.0)
        + 0.2 * has_gap
        + 0.2 * htf_aligned
    )


def realism(block: OrderBlock, price: float, atr: float) -> float:
    """0..1: how plausible a fill at this block is (near price, narrow, still valid)."""
    if block.state in ("negated", "breaker") or atr <= 0:
        return 0.0
    if price < block.low:
        return 0.0
    distance = max(price - block.high, 0.0) / atr
    width = (block.high - block.low) / atr
    value = float(np.exp(-distance / REALISM_DECAY_ATR)) * (
        WIDE_ZONE_FACTOR if width > WIDE_ZONE_ATR else 1.0
    )
    return value * (MITIGATED_FACTOR if block.state == "mitigated" else 1.0)
