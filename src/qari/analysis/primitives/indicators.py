"""Vectorised indicator maths on float64 arrays (oldest first). Confirmation only: price action leads."""

from __future__ import annotations

import math

import numpy as np

from qari.core.market import FloatArray

_MAX_GROWTH = 500.0  # natural log of the largest weight a chunk may carry (float64 tops out near 709)


def ema(x: FloatArray, span: int | None = None, alpha: float | None = None) -> FloatArray:
    """Exponential moving average seeded with the first value, computed in closed form per chunk.

    Within a chunk `e_j = d^(j+1) e_prev + a Σ d^(j-k) x_k`, evaluated with one cumulative sum; a chunk
    is as long as the geometric weights allow without overflow (the whole window for usual spans).
    """
    a = alpha if alpha is not None else 2.0 / ((span or 1) + 1.0)
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    if n == 0:
        return out
    d = 1.0 - a
    if d <= 0.0:
        out[:] = x
        return out
    m = max(1, min(n, int(_MAX_GROWTH / -math.log(d))))
    k = np.arange(1, m + 1, dtype=np.float64)
    grow = d**-k
    shrink = d**k
    prev = float(x[0])
    start = 0
    while start < n:
        stop = min(start + m, n)
        c = stop - start
        acc = np.cumsum(x[start:stop] * grow[:c])
        out[start:stop] = shrink[:c] * (prev + a * acc)
        prev = float(out[stop - 1])
        start = stop
    return out


def sma(x: FloatArray, window: int) -> FloatArray:
    """Trailing simple moving average; the first `window-1` values average what exists so far."""
    n = x.shape[0]
    if n == 0:
        return x.astype(np.float64)
    c = np.cumsum(np.concatenate(([0.0], x)))
    idx = np.arange(1, n + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def median(x: FloatArray) -> float:
    """`np.median` of a 1-D array, bit for bit, without its generic machinery (a hot path)."""
    h = x.shape[0] // 2
    part = np.partition(x, (h - 1, h) if x.shape[0] % 2 == 0 else h)
    if np.isnan(part).any():
        return float("nan")
    return float(part[h]) if x.shape[0] % 2 else float((part[h - 1] + part[h]) / 2.0)


def true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    prev = np.concatenate((close[:1], close[:-1]))
    return np.maximum(high, prev) - np.minimum(low, prev)


def atr(high: FloatArray, low: FloatArray, close: FloatArray, window: int = 14) -> FloatArray:
    """Average true range as a trailing simple mean (fast and window-local)."""
    return sma(true_range(high, low, close), window)


def rsi(close: FloatArray, window: int = 14) -> FloatArray:
    """Wilder RSI in [0, 100]; 50 where there is no movement yet."""
    if close.shape[0] < 2:
        return np.full(close.shape[0], 50.0)
    diff = np.diff(close, prepend=close[0])
    gain = ema(np.maximum(diff, 0.0), alpha=1.0 / window)
    loss = ema(np.maximum(-diff, 0.0), alpha=1.0 / window)
    total = gain + loss
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(total > 0.0, 100.0 * gain / np.where(total > 0.0, total, 1.0), 50.0)
    return np.clip(out, 0.0, 100.0)


def macd(close: FloatArray, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[FloatArray, FloatArray]:
    """MACD line and histogram."""
    line = ema(close, fast) - ema(close, slow)
    hist = line - ema(line, signal)
    return line, hist
