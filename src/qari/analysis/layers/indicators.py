"""L07 Indicators (confirmation only): RSI (no overbought entry, bullish divergence), MACD histogram
turn, EMA trend."""

from __future__ import annotations

from typing import Any

import numpy as np

from qari.analysis.bounds import ABSTAIN, AGAINST, EPS, Bound, may_agree
from qari.analysis.context import AnalysisContext
from qari.analysis.features import History
from qari.analysis.layer import LayerResult, Vote, abstain, result
from qari.analysis.primitives import indicators
from qari.core.market import FloatArray, IntArray

CODE = 7
NAME = "Indicators"
OVERBOUGHT = 70.0
WINDOW = 220  # enough history for EMA50 and MACD to settle
MIN_CANDLES = 50
AGREE_FLOOR = 0.5  # the least score an agreeing vote carries
RSI_PERIOD = 14
FAST_EMA = 20
SLOW_EMA = 50


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
        e20 = float(indicators.ema(close, FAST_EMA)[-1])
        e50 = float(indicators.ema(close, SLOW_EMA)[-1])
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


def bound(history: History, n: IntArray) -> Bound:
    """`evaluate` at window ends n, not bounded beyond its abstention: agreeing needs RSI under 70 and
    either a bullish divergence (two falling swing lows in the RSI's window) or the EMA trend up
    (EMA20 over EMA50, price over EMA50): where neither can be, it cannot agree."""
    length = np.minimum(n, history.window)
    close = history.close
    fast = history.window_ema(close, n, 2.0 / (FAST_EMA + 1.0), WINDOW, seeded=True)
    slow = history.window_ema(close, n, 2.0 / (SLOW_EMA + 1.0), WINDOW, seeded=True)
    rsi = _window_rsi(history, n)
    last = history.last_close(n)
    trend = (fast * (1 + EPS) > slow * (1 - EPS)) & (last * (1 + EPS) > slow * (1 - EPS))
    overbought = rsi * (1 + EPS) - EPS >= OVERBOUGHT
    p = history.pivots
    start = n - np.minimum(length, WINDOW)
    falling = np.zeros(n.shape[0], dtype=bool)
    two = (history.low_pos_last - history.low_pos_first >= 1)[n]
    if two.any():
        last_low, prev_low = history.low_pos_last[n][two], history.low_pos_last[n][two] - 1
        b, a = p.low_idx[last_low], p.low_idx[prev_low]
        falling[two] = (a >= start[two]) & (history.low[b] < history.low[a])
    maybe = ~overbought & (trend | falling)
    score = np.maximum(indicator_score(True, falling, trend), AGREE_FLOOR)
    out = may_agree(maybe, score)
    out.kind[~maybe & (rsi * (1 - EPS) - EPS >= OVERBOUGHT)] = AGAINST
    out.kind[length < MIN_CANDLES] = ABSTAIN
    return out


def _window_rsi(history: History, n: IntArray) -> FloatArray:
    """Per step: the window's last RSI (`indicators.rsi` over its last WINDOW closes)."""
    move = np.diff(history.close, prepend=history.close[:1])
    alpha = 1.0 / RSI_PERIOD
    gain = history.window_ema(np.maximum(move, 0.0), n, alpha, WINDOW, seeded=False)
    loss = history.window_ema(np.maximum(-move, 0.0), n, alpha, WINDOW, seeded=False)
    total = gain + loss
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(total > 0.0, 100.0 * gain / np.where(total > 0.0, total, 1.0), 50.0)
    return np.clip(out, 0.0, 100.0)
