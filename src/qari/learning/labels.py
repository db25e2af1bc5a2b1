"""The outcome the rules would have given a candidate, in R, simulated on later candles only.

Rules (PRODUCT.md §6–7, one leg): the gate's R/R ≥ 2 to PT2 (fees included) and stop band 10–30 %
(R4); a limit at the middle of the zone filled by a later candle trading through it within the entry
expiry (default 4 h); then PT1 closes 40 % and moves the stop to break-even, PT2 closes 30 %, the
last 30 % is trailed to PT1 after PT2 (a stand-in for the structural trail); a candle touching both
stop and target counts as the stop (pessimistic). Unresolved after `HORIZON_MS` it is closed at the
last close. Each label carries the time its outcome was known (`outcome_ms`): a label may be used
only by decisions taken at or after that time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qari.core.market import CandleSeries
from qari.risk.stops import MAX_STOP_DISTANCE, MIN_STOP_DISTANCE

FEE = 0.001  # per side, taker-like; both sides are charged against R
ENTRY_EXPIRY_MS = 4 * 3_600_000
HORIZON_MS = 30 * 86_400_000
STOP_BAND = (float(MIN_STOP_DISTANCE), float(MAX_STOP_DISTANCE))  # R4, stated in risk/stops.py
MIN_RR = 2.0


@dataclass(frozen=True, slots=True)
class Label:
    r: float
    entry_ms: int  # when the limit filled (close of that candle)
    outcome_ms: int  # when the last part was closed (close of that candle)
    exit: str  # "stop", "breakeven", "pt2", "trail", "timeout"


def gate_ok(entry: float, stop: float, pt2: float) -> bool:
    """The two price checks of the gate the rules apply to a plan: stop band (15) and R/R (13)."""
    if entry <= 0 or stop <= 0 or stop >= entry:
        return False
    distance = (entry - stop) / entry
    reward = pt2 * (1 - FEE) - entry * (1 + FEE)
    risk = entry * (1 + FEE) - stop * (1 - FEE)
    return STOP_BAND[0] <= distance <= STOP_BAND[1] and reward / risk >= MIN_RR


def label(
    series: CandleSeries, decided_ms: int, entry: float, stop: float, pt1: float, pt2: float
) -> Label | None:
    """The rules' outcome for a plan decided at `decided_ms`; None when the gate refuses it or the limit
    never fills. Reads only candles opening at or after `decided_ms`."""
    if not gate_ok(entry, stop, pt2):
        return None
    step = int(series.ts[1] - series.ts[0]) if len(series) > 1 else 0
    first = int(np.searchsorted(series.ts, decided_ms, side="left"))
    ts, low, high, close = series.ts, series.low, series.high, series.close
    expiry = int(np.searchsorted(ts, decided_ms + ENTRY_EXPIRY_MS, side="left"))
    fills = np.flatnonzero(low[first:expiry] <= entry)
    if fills.shape[0] == 0:
        return None
    i = first + int(fills[0])
    risk = entry - stop
    cost = entry * FEE
    left, r, current_stop, exit_ = 1.0, 0.0, stop, "timeout"
    targets = [(0.4, pt1), (0.3, pt2)]
    end = int(np.searchsorted(ts, int(ts[i]) + HORIZON_MS, side="right"))
    j = i
    # the fill candle: only its stop counts (its high may have come before the fill)
    for j in range(i, min(end, len(ts))):
        if low[j] <= current_stop:
            r += left * (current_stop * (1 - FEE) - entry - cost) / risk
            left = 0.0
            exit_ = "stop" if current_stop == stop else ("breakeven" if current_stop == entry else "trail")
            break
        if j == i:
            continue
        while targets and high[j] >= targets[0][1]:
            part, price = targets.pop(0)
            r += part * (price * (1 - FEE) - entry - cost) / risk
            left -= part
            current_stop = entry if targets else pt1  # PT1 → break-even; PT2 → trail to PT1
        if left <= 1e-9:
            break
    if left > 1e-9:
        r += left * (close[j] * (1 - FEE) - entry - cost) / risk
    return Label(round(r, 6), int(ts[i]) + step, int(ts[j]) + step, exit_)
