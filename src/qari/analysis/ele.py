"""ELE — extreme liquidation events: a drop of ≥ 20 % within 60 minutes on extreme volume, with
collapsing open interest where that data exists (CVD needs trade-side data, which OHLCV lacks).

During an ELE ordinary entries on the symbol are blocked; only a capitulation reversal (SFP plus a
fresh entry-timeframe CHoCH, with ≥ 5 agreeing layers) may be considered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from qari.analysis.context import Frame
from qari.core.market import FloatArray
from qari.core.time import timeframe_ms

MIN_DROP = 0.20
WINDOW_MS = 3_600_000
ACTIVE_MS = 86_400_000
VOLUME_MULTIPLE = 3.0
OI_COLLAPSE = -0.10


@dataclass(frozen=True, slots=True)
class Ele:
    bars_ago: int
    drop: float
    peak: float
    trough: float
    volume_ratio: float
    open_interest_change: float | None

    def to_evidence(self) -> dict[str, Any]:
        return {
            "bars_ago": self.bars_ago,
            "drop": self.drop,
            "peak": self.peak,
            "trough": self.trough,
            "volume_ratio": self.volume_ratio,
            "open_interest_change": self.open_interest_change,
        }


def detect_ele(fr: Frame | None, open_interest: FloatArray | None = None) -> Ele | None:
    """The most severe qualifying drop in the last 24 h of closed candles, or None."""
    if fr is None:
        return None
    step = timeframe_ms(fr.timeframe)
    w = max(1, WINDOW_MS // step)
    span = max(1, ACTIVE_MS // step)
    start = max(0, fr.n - span - w + 1)
    hi, lo, vol = fr.high[start:], fr.low[start:], fr.volume[start:]
    if hi.shape[0] < w:
        return None
    top = float(hi.max())
    if top <= 0 or 1.0 - float(lo.min()) / top < MIN_DROP:
        return None  # the whole day never spanned 20 %: no window can have dropped that far
    hw = sliding_window_view(hi, w)
    lw = sliding_window_view(lo, w)
    peak_at = hw.argmax(axis=1)
    trough_at = lw.argmin(axis=1)
    rows = np.arange(hw.shape[0])
    peak = hw[rows, peak_at]
    trough = lw[rows, trough_at]
    with np.errstate(divide="ignore", invalid="ignore"):
        drop = np.where((peak > 0) & (peak_at <= trough_at), 1.0 - trough / peak, 0.0)
    vol_sum = sliding_window_view(vol, w).sum(axis=1)
    typical = fr.volume_median * w
    vol_ratio = vol_sum / typical if typical > 0 else np.ones_like(vol_sum)
    hits = np.flatnonzero((drop >= MIN_DROP) & (vol_ratio >= VOLUME_MULTIPLE))
    if hits.shape[0] == 0:
        return None
    i = int(hits[np.argmax(drop[hits])])
    oi_change = None
    if open_interest is not None and open_interest.shape[0] >= 2 and open_interest[0] > 0:
        oi_change = float(open_interest[-1] / open_interest[0] - 1.0)
        if oi_change > OI_COLLAPSE:
            return None  # open interest did not collapse: a thin-book drop, not a liquidation cascade
    end_bar = start + i + w - 1
    return Ele(
        fr.n - 1 - end_bar, float(drop[i]), float(peak[i]), float(trough[i]), float(vol_ratio[i]), oi_change
    )
