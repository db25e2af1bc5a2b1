"""L07 Indicators (confirmation only): RSI (no overbought entry, bullish divergence), MACD histogram
turn, EMA trend."""

from __future__ import annotations

from typing import Any

from qari.analysis.context import AnalysisContext
from qari.analysis.layer import LayerResult, Vote, abstain, result
from qari.analysis.primitives import indicators

CODE = 7
NAME = "Indicators"
OVERBOUGHT = 70.0
WINDOW = 220  # enough history for EMA50 and MACD to settle
MIN_CANDLES = 50
AGREE_FLOOR = 0.5  # the least score an agreeing vote carries
RSI_PERIOD = 14


class Indicators:
    code = CODE
    name = NAME

    def evaluate(self, ctx: AnalysisContext) -> LayerResult:
        fr = ctx.entry
        if fr is None or fr.n < MIN_CANDLES:
            return abstain(CODE, NAME, f"Not enough closed {ctx.entry_tf} candles for RSI, MACD and EMAs.")
        close = fr.close[-WINDOW:]
        offset = fr.n - close.shape[0]
        r = indicators.rsi(close, RSI_PERIOD)
        _, hist = indicators.macd(close)
        e20 = float(indicators.ema(close, 20)[-1])
        e50 = float(indicators.ema(close, 50)[-1])
        rsi_now = float(r[-1])
        turn = bool(hist[-1] > hist[-2] and hist[-2] <= hist[-3])
        rising = bool(hist[-1] > hist[-2])
        lows = fr.pivots.low_idx
        divergence = False
        if lows.shape[0] >= 2:
            a, b = int(lows[-2]), int(lows[-1])
            if a >= offset:
                divergence = bool(fr.low[b] < fr.low[a] and r[b - offset] > r[a - offset])
        trend_up = e20 > e50 and fr.last > e50
        evidence = {
            "rsi": rsi_now,
            "macd_hist": float(hist[-1]),
            "macd_turn_up": turn,
            "macd_rising": rising,
            "ema20": e20,
            "ema50": e50,
            "ema_trend_up": trend_up,
            "bullish_divergence": divergence,
        }
        score = indicator_score(turn or rising, divergence, trend_up)
        if rsi_now >= OVERBOUGHT:
            return result(
                CODE,
                NAME,
                Vote.AGAINST,
                0.0,
                evidence,
                f"RSI is overbought at {rsi_now:.1f}; QARI does not buy into overbought conditions.",
            )
        if divergence or (turn and trend_up) or (rising and trend_up and rsi_now < 60):
            what = (
                "a bullish RSI divergence" if divergence else "a MACD histogram turning up in an EMA uptrend"
            )
            return result(
                CODE, NAME, Vote.AGREE, max(score, AGREE_FLOOR), evidence, f"Indicators confirm with {what}."
            )
        return result(
            CODE,
            NAME,
            Vote.NEUTRAL,
            score,
            evidence,
            f"Indicators give no confirmation (RSI {rsi_now:.1f}, EMA "
            f"trend {'up' if trend_up else 'not up'}).",
        )


def indicator_score(momentum_up: Any, divergence: Any, trend_up: Any) -> Any:
    """Bools or NumPy bool arrays (`analysis.sweep`) alike."""
    return 0.3 * momentum_up + 0.35 * divergence + 0.35 * trend_up
