"""L09 VWAP: price against the UTC-session VWAP and the VWAP anchored at the last swing low."""

from __future__ import annotations

import numpy as np

from qari.analysis.context import AnalysisContext
from qari.analysis.layer import LayerResult, Vote, abstain, result

CODE = 9
NAME = "VWAP"
DAY_MS = 86_400_000


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
                0.8,
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
