"""L04 Volume: relative volume against its recent distribution, volume behind the latest up-leg, and
buying-vs-selling pressure (CVD where trade-side data exists; otherwise an up/down-candle volume proxy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from qari.analysis.bounds import ABSTAIN, AGAINST, EPS, OPEN, Bound, at_least, may_agree
from qari.analysis.context import ENTRY_MIN_CANDLES, AnalysisContext
from qari.analysis.features import History
from qari.analysis.layer import LayerResult, Vote, abstain, result
from qari.core.market import IntArray

CODE = 4
NAME = "Volume"
LOOKBACK = 100
PRESSURE_BARS = 20
BUYERS_LEAD = 1.2  # up/down volume at or above: buying pressure
SELLERS_LEAD = 0.7  # at or below: selling pressure
IMPULSE_LEAD = 1.1  # the latest leg's volume against the median
HIGH_PERCENTILE = 0.7
ONLY_BUYERS = 3.0  # the pressure when no candle closed down but some volume traded


class Volume:
    code = CODE
    name = NAME

    def evaluate(self, ctx: AnalysisContext) -> LayerResult:
        fr = ctx.entry
        if fr is None or fr.n < ENTRY_MIN_CANDLES:
            return abstain(CODE, NAME, f"Not enough closed {ctx.entry_tf} candles to judge volume.")
        vol = fr.volume[-LOOKBACK:]
        last = float(vol[-1])
        rel_pct = float(np.count_nonzero(vol[:-1] < last)) / max(vol.shape[0] - 1, 1)
        rel = last / fr.volume_median if fr.volume_median > 0 else 1.0
        o, c, v = fr.open[-PRESSURE_BARS:], fr.close[-PRESSURE_BARS:], fr.volume[-PRESSURE_BARS:]
        up = float(v[c >= o].sum())
        down = float(v[c < o].sum())
        pressure = up / down if down > 0 else (ONLY_BUYERS if up > 0 else 1.0)
        lows = fr.pivots.low_idx
        leg_start = int(lows[-1]) if lows.shape[0] else max(fr.n - PRESSURE_BARS, 0)
        leg_vol = float(fr.volume[leg_start:].mean()) if leg_start < fr.n else last
        impulse = leg_vol / fr.volume_median if fr.volume_median > 0 else 1.0
        evidence = {
            "relative_volume": rel,
            "relative_percentile": rel_pct,
            "impulse_volume_ratio": impulse,
            "up_down_volume_ratio": pressure,
            "cvd": None,
            "cvd_note": "no trade-side data; up/down candle volume used as the pressure proxy",
        }
        score = volume_score(pressure, impulse, rel_pct)
        green = fr.close[-1] >= fr.open[-1]
        if pressure >= BUYERS_LEAD and (impulse >= IMPULSE_LEAD or (rel_pct >= HIGH_PERCENTILE and green)):
            return result(
                CODE,
                NAME,
                Vote.AGREE,
                score,
                evidence,
                f"Buying volume leads ({pressure:.2f}× selling over "
                f"{PRESSURE_BARS} candles) and the latest leg "
                f"ran on {impulse:.2f}× typical volume.",
            )
        if pressure <= SELLERS_LEAD:
            return result(
                CODE,
                NAME,
                Vote.AGAINST,
                score,
                evidence,
                f"Selling volume dominates ({pressure:.2f}× buying over {PRESSURE_BARS} candles).",
            )
        return result(
            CODE,
            NAME,
            Vote.NEUTRAL,
            score,
            evidence,
            f"Volume is unremarkable: the last candle sits at the {rel_pct * 100:.0f}th "
            "percentile of recent volume.",
        )


def volume_score(pressure: Any, impulse: Any, rel_pct: Any, lo: Any = min) -> Any:
    """Floats by default; NumPy arrays with `lo=np.minimum` (`analysis.sweep`)."""
    return 0.45 * lo(pressure / 2.0, 1.0) + 0.3 * lo(impulse / 1.5, 1.0) + 0.25 * rel_pct


def bound(history: History, n: IntArray) -> Bound:
    """`evaluate` at window ends n: exact where the sums are trusted and no threshold is within
    rounding; OPEN otherwise."""
    v, c, o, s = history.volume, history.close, history.open_, history.window_start[n]
    length = n - s
    last = v[np.maximum(n - 1, 0)]
    span = np.minimum(length, LOOKBACK)
    rel_pct = history.count_below_last(n, span, LOOKBACK) / np.maximum(span - 1, 1)
    bars = np.minimum(length, PRESSURE_BARS)
    up, up_ok = history.up_volume_sums(n - bars, n)
    down, down_ok = history.down_volume_sums(n - bars, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        pressure = np.where(down > 0, up / down, np.where(up > 0, ONLY_BUYERS, 1.0))
    leg = history.last_low_pivot[n]
    leg = np.where(leg >= 0, leg, np.maximum(n - PRESSURE_BARS, s))
    leg_sum, leg_ok = history.volume_sums(np.minimum(leg, n), n)
    leg_vol = np.where(leg < n, leg_sum / np.maximum(n - leg, 1), last)
    impulse = history.volume_ratio(leg_vol, n)
    score = volume_score(pressure, impulse, rel_pct, lo=np.minimum)
    green = c[np.maximum(n - 1, 0)] >= o[np.maximum(n - 1, 0)]
    strong = (rel_pct >= HIGH_PERCENTILE) & green
    maybe = at_least(pressure, BUYERS_LEAD) & (at_least(impulse, IMPULSE_LEAD) | strong)
    trusted = up_ok & down_ok & leg_ok
    against = pressure * (1 + EPS) <= SELLERS_LEAD
    out = may_agree(maybe, score * (1 + EPS))
    out.kind[~maybe & against] = AGAINST
    out.kind[~trusted] = OPEN
    out.kind[length < ENTRY_MIN_CANDLES] = ABSTAIN
    return out
