"""Hand-built candle sequences whose right answer is known."""

from __future__ import annotations

import itertools

import numpy as np

from qari.analysis.context import AnalysisContext
from qari.core.market import CandleSeries, MarketContext, MarketSnapshot, OrderBook

T0 = 1_704_067_200_000  # 2024-01-01T00:00Z
STEP_15M = 900_000


def path(*points: float, steps: int = 5) -> list[float]:
    """Closes walking linearly between the given turning points, `steps` candles per leg."""
    out = [points[0]]
    for a, b in itertools.pairwise(points):
        out += [a + (b - a) * i / steps for i in range(1, steps + 1)]
    return out


def candles(
    closes: list[float],
    *,
    timeframe: str = "15m",
    step_ms: int = STEP_15M,
    wick: float = 0.2,
    volume: float = 100.0,
    symbol: str = "TEST/USDT",
    t0: int = T0,
) -> CandleSeries:
    """Candles opening at the previous close, with small wicks beyond the body."""
    c = np.asarray(closes, dtype=np.float64)
    o = np.concatenate(([c[0]], c[:-1]))
    h = np.maximum(o, c) + wick
    lo = np.minimum(o, c) - wick
    ts = t0 + step_ms * np.arange(c.shape[0], dtype=np.int64)
    return CandleSeries(symbol, timeframe, ts, o, h, lo, c, np.full(c.shape[0], volume))


def with_candle(s: CandleSeries, o: float, h: float, low: float, c: float, v: float = 100.0) -> CandleSeries:
    """`s` with one more candle appended."""
    step = int(s.ts[1] - s.ts[0])
    return CandleSeries(
        s.symbol,
        s.timeframe,
        np.append(s.ts, s.ts[-1] + step),
        np.append(s.open, o),
        np.append(s.high, h),
        np.append(s.low, low),
        np.append(s.close, c),
        np.append(s.volume, v),
    )


def at_after(s: CandleSeries) -> int:
    """The analysis time at which every candle of `s` has closed."""
    return int(s.ts[-1] + (s.ts[1] - s.ts[0]))


def snapshot(
    entry: CandleSeries,
    *,
    h4: CandleSeries | None = None,
    d1: CandleSeries | None = None,
    context: MarketContext | None = None,
    book: OrderBook | None = None,
    at_ms: int | None = None,
) -> MarketSnapshot:
    series = {entry.timeframe: entry}
    if h4 is not None:
        series["4h"] = h4
    if d1 is not None:
        series["1d"] = d1
    return MarketSnapshot(
        entry.symbol,
        at_ms if at_ms is not None else at_after(entry),
        series,
        book=book,
        context=context or MarketContext(),
    )


def context_of(snap: MarketSnapshot) -> AnalysisContext:
    return AnalysisContext(snap)


def htf(
    closes: list[float], timeframe: str, symbol: str = "TEST/USDT", end_ms: int | None = None
) -> CandleSeries:
    """A higher-timeframe series whose last candle closes by `end_ms` (default: the 15m builder's start)."""
    step = {"4h": 14_400_000, "1d": 86_400_000}[timeframe]
    end = end_ms if end_ms is not None else T0
    t0 = end - step * len(closes)
    return candles(closes, timeframe=timeframe, step_ms=step, symbol=symbol, t0=t0, wick=0.5)
