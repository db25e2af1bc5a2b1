"""L09 VWAP: price against the UTC-session VWAP and the VWAP anchored at the last swing low."""

from __future__ import annotations

import numpy as np

from qari.analysis.bounds import ABSTAIN, AGAINST, AGREE, EPS, NEUTRAL, OPEN, SCORE_ROUNDING, Bound
from qari.analysis.context import ENTRY_MIN_CANDLES, AnalysisContext
from qari.analysis.features import History
from qari.analysis.layer import LayerResult, Vote, abstain, result
from qari.core.market import IntArray

CODE = 9
NAME = "VWAP"
DAY_MS = 86_400_000
AGREE_SCORE = 0.8


def vwap_from(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, start: int
) -> float | None:
    v = volume[start:]
    total = float(v.sum())
    if total <= 0:
        return None
    typical = (high[start:] + low[start:] + close[start:]) / 3.0
    return float((typical * v).sum() / total)


class Vwap:
    code = CODE
    name = NAME

    def evaluate(self, ctx: AnalysisContext) -> LayerResult:
        fr = ctx.entry
        if fr is None:
            return abstain(CODE, NAME, f"Not enough closed {ctx.entry_tf} candles for VWAP.")
        day_start = (int(fr.ts[-1]) // DAY_MS) * DAY_MS
        session_start = int(np.searchsorted(fr.ts, day_start, side="left"))
        session = vwap_from(fr.high, fr.low, fr.close, fr.volume, session_start)
        lows = fr.pivots.low_idx
        anchored = vwap_from(fr.high, fr.low, fr.close, fr.volume, int(lows[-1])) if lows.shape[0] else None
        if session is None and anchored is None:
            return abstain(CODE, NAME, "No traded volume in the window to weight a VWAP.")
        price = fr.last
        above = [x for x in (session, anchored) if x is not None and price > x]
        below = [x for x in (session, anchored) if x is not None and price < x]
        evidence = {"session_vwap": session, "anchored_vwap": anchored, "price": price}
        if len(above) == 2 or (above and not below and anchored is None):
            return result(
                CODE,
                NAME,
                Vote.AGREE,
                AGREE_SCORE,
                evidence,
                "Price holds above both the session VWAP and the VWAP anchored at the last swing low.",
            )
        if below and not above:
            return result(
                CODE,
                NAME,
                Vote.AGAINST,
                0.1,
                evidence,
                "Price is below the session VWAP and the swing-low "
                "anchored VWAP: sellers control the average.",
            )
        return result(
            CODE,
            NAME,
            Vote.NEUTRAL,
            0.4,
            evidence,
            "Price sits between the session VWAP and the swing-low anchored VWAP.",
        )


def bound(history: History, n: IntArray) -> Bound:
    """`evaluate` at window ends n: exact where the sums are trusted and price is not within rounding
    of a VWAP; OPEN otherwise."""
    ts, s = history.ts, history.window_start[n]
    day = (ts[np.maximum(n - 1, 0)] // DAY_MS) * DAY_MS
    session = np.maximum(np.searchsorted(ts, day, side="left"), s)
    anchor = history.last_low_pivot[n]
    price = history.last_close(n)
    sides = []
    for start, present in (
        (session, np.ones(n.shape[0], dtype=bool)),
        (np.maximum(anchor, 0), anchor >= 0),
    ):
        start = np.minimum(start, n)
        weight, weight_ok = history.volume_sums(start, n)
        value, value_ok = history.price_volume_sums(start, n)
        exists = present & (weight > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            level = np.where(exists, value / np.where(weight > 0, weight, 1.0), 0.0)
        clear = np.abs(price - level) > EPS * np.abs(level)
        trusted = ~present | (weight_ok & (~exists | (value_ok & clear)))
        sides.append((exists, exists & (price > level), exists & (price < level), trusted))
    (s_in, s_up, s_down, s_ok), (a_in, a_up, a_down, a_ok) = sides
    agree = s_up & (a_up | ~a_in)
    against = (s_down | a_down) & ~(s_up | a_up)
    trusted = s_ok & a_ok
    kind = np.where(agree, AGREE, np.where(against, AGAINST, NEUTRAL))
    kind = np.where(~s_in & ~a_in, ABSTAIN, kind)
    kind = np.where(trusted, kind, OPEN).astype(np.int8)
    kind[np.minimum(n, history.window) < ENTRY_MIN_CANDLES] = ABSTAIN
    return Bound(kind, np.full(n.shape[0], AGREE_SCORE + SCORE_ROUNDING))
