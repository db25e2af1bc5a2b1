"""Structural trade levels for a candidate: entry zone, stop below structure, targets at liquidity above.

The stop is a structural low (trigger wick/zone, swing lows on the entry timeframe, 4h and 1d); the
first one that lies 10–30 % below the entry is used, so the stop stays structural and the risk band
of rule R4 can be met. If no structural low lies in the band, the trigger's own low is kept and the
risk gate rejects the setup — the stop is never moved to an arbitrary price.
"""

from __future__ import annotations

from dataclasses import dataclass

from qari.analysis.context import AnalysisContext, Frame
from qari.analysis.layers.fibonacci import GP_HIGH, GP_LOW, impulse_leg, in_golden_pocket
from qari.analysis.layers.liquidity import pools
from qari.analysis.layers.order_blocks import active_gap, best_block
from qari.analysis.primitives.structure import equal_levels
from qari.risk.stops import MAX_STOP_DISTANCE, MIN_STOP_DISTANCE

STOP_BAND = (float(MIN_STOP_DISTANCE), float(MAX_STOP_DISTANCE))  # R4, stated in risk/stops.py
STOP_BUFFER = 0.002
MIN_TARGET_GAP = 0.003
TARGET_MERGE = 0.002
EXTENSIONS = (1.272, 1.618)


@dataclass(frozen=True, slots=True)
class TradeLevels:
    entry_low: float
    entry_high: float
    stop: float
    pt1: float
    pt2: float
    trigger: str
    stop_source: str
    pt1_source: str
    pt2_source: str


def entry_zone(ctx: AnalysisContext) -> tuple[float, float, float, str] | None:
    """(zone low, zone high, trigger low, trigger name) from the strongest price-action trigger."""
    fr = ctx.entry
    if fr is None:
        return None
    price = fr.last
    block = best_block(ctx)
    if block is not None and block[1] >= 0.5 and block[0].quality >= 45:
        b = block[0]
        return (min(b.low, price), min(b.high, price), b.low, f"order block {b.low:.6g}–{b.high:.6g}")
    gap = active_gap(ctx)
    if gap is not None:
        return (min(gap.low, price), min(gap.high, price), gap.low, f"grade {gap.grade} fair value gap")
    leg = impulse_leg(fr)
    if leg is not None and in_golden_pocket(leg.retracement):
        lo, hi = leg.level(GP_HIGH), leg.level(GP_LOW)
        return (min(lo, price), min(hi, price), leg.low, "golden pocket")
    sfp = ctx.bullish_sfp
    if sfp is not None:
        return (min(sfp.level, price), price, sfp.extreme, f"swing failure at {sfp.level:.6g}")
    return None


def _lows(fr: Frame | None, below: float) -> list[float]:
    if fr is None:
        return []
    p = fr.pivots
    known = p.low_idx + fr.k < fr.n
    return [float(x) for x in p.low_px[known] if x < below]


def _highs(fr: Frame | None, tf: str) -> list[tuple[float, str]]:
    if fr is None:
        return []
    above, _ = pools(fr)
    out = [(x, f"{tf} swing-high liquidity") for x in above]
    p = fr.pivots
    out += [
        (lvl, f"{tf} equal highs")
        for lvl, _, _ in equal_levels(p.high_px[-12:], p.high_idx[-12:], 0.25 * fr.atr, True)
        if lvl > fr.last
    ]
    return out


def choose_stop(
    ctx: AnalysisContext, entry_mid: float, trigger_low: float, trigger: str
) -> tuple[float, str]:
    levels = [(trigger_low, trigger)]
    for tf, fr in ctx.frames().items():
        levels += [(x, f"{tf} swing low") for x in _lows(fr, trigger_low)]
    levels.sort(key=lambda lv: -lv[0])
    lo, hi = STOP_BAND
    for level, source in levels:
        distance = (entry_mid - level * (1 - STOP_BUFFER)) / entry_mid
        if lo <= distance <= hi:
            return level * (1 - STOP_BUFFER), source
        if distance > hi:
            break
    return trigger_low * (1 - STOP_BUFFER), trigger


def choose_targets(
    ctx: AnalysisContext, entry_high: float, entry_mid: float, risk: float
) -> list[tuple[float, str]]:
    raw: list[tuple[float, str]] = []
    for tf, fr in ctx.frames().items():
        raw += _highs(fr, tf)
    floor = entry_high * (1 + MIN_TARGET_GAP)
    raw = sorted((x, s) for x, s in raw if x > floor)
    targets: list[tuple[float, str]] = []
    for x, s in raw:
        if targets and x <= targets[-1][0] * (1 + TARGET_MERGE):
            continue
        targets.append((x, s))
    if len(targets) < 2 or targets[-1][0] < entry_mid + 2.0 * risk:
        source = ctx.h4 if ctx.h4 is not None else ctx.entry
        leg = impulse_leg(source) if source is not None else None
        if leg is not None:
            for ext in EXTENSIONS:
                lvl = leg.low + ext * (leg.high - leg.low)
                if lvl > floor and all(abs(lvl - t) > t * TARGET_MERGE for t, _ in targets):
                    targets.append((lvl, f"{ext} extension of the last leg"))
            targets.sort()
    return targets


def trade_levels(ctx: AnalysisContext) -> TradeLevels | None:
    zone = entry_zone(ctx)
    if zone is None:
        return None
    zone_low, zone_high, trigger_low, trigger = zone
    if zone_low > zone_high:
        zone_low = zone_high
    entry_mid = (zone_low + zone_high) / 2.0
    stop, stop_source = choose_stop(ctx, entry_mid, min(trigger_low, zone_low), trigger)
    risk = entry_mid - stop
    if risk <= 0:
        return None
    targets = choose_targets(ctx, zone_high, entry_mid, risk)
    if len(targets) < 2:
        return None
    pt2_i = next((i for i, (t, _) in enumerate(targets) if t >= entry_mid + 2.0 * risk), len(targets) - 1)
    pt2_i = max(pt2_i, 1)
    below = [i for i in range(pt2_i) if targets[i][0] >= entry_mid + risk]
    pt1_i = below[0] if below else pt2_i - 1
    pt1, pt1_source = targets[pt1_i]
    pt2, pt2_source = targets[pt2_i]
    return TradeLevels(zone_low, zone_high, stop, pt1, pt2, trigger, stop_source, pt1_source, pt2_source)
