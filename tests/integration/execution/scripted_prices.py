"""A scripted `PriceSource` for the sandbox: piecewise-linear prices through given waypoints.

Each symbol's path is a list of (time ms, price) waypoints; 1-minute candles are cut from it (open and
close on the line, high/low the extremes inside the minute) with a fixed volume per candle, so a test
decides exactly when a limit fills or a stop triggers. Before the first waypoint the price is flat.
"""

from __future__ import annotations

import numpy as np

from qari.core.market import CandleSeries
from qari.core.time import timeframe_ms

MINUTE = 60_000


class ScriptedPrices:
    def __init__(self, paths: dict[str, list[tuple[int, float]]], *, volume: float = 1_000_000.0) -> None:
        self.paths = {s: sorted(p) for s, p in paths.items()}
        self.volume = volume

    def set_path(self, symbol: str, waypoints: list[tuple[int, float]]) -> None:
        self.paths[symbol] = sorted(waypoints)

    def extend(self, symbol: str, waypoints: list[tuple[int, float]]) -> None:
        self.paths[symbol] = sorted(self.paths[symbol] + waypoints)

    def symbols(self) -> list[str]:
        return sorted(self.paths)

    def base_timeframe(self, symbol: str) -> str:
        return "1m"

    def _price(self, symbol: str, ms: np.ndarray) -> np.ndarray:
        pts = self.paths[symbol]
        xs = np.asarray([p[0] for p in pts], dtype=np.float64)
        ys = np.asarray([p[1] for p in pts], dtype=np.float64)
        return np.interp(ms.astype(np.float64), xs, ys)

    def base_candles(self, symbol: str, start_ms: int, end_ms: int) -> CandleSeries:
        first = -(-start_ms // MINUTE) * MINUTE
        ts = np.arange(first, end_ms, MINUTE, dtype=np.int64)
        opens = self._price(symbol, ts)
        closes = self._price(symbol, ts + MINUTE)
        # waypoints strictly inside a minute make its high/low
        highs = np.maximum(opens, closes)
        lows = np.minimum(opens, closes)
        for t, p in self.paths[symbol]:
            i = int(np.searchsorted(ts, t, side="right")) - 1
            if 0 <= i < len(ts) and ts[i] < t < ts[i] + MINUTE:
                highs[i] = max(highs[i], p)
                lows[i] = min(lows[i], p)
        volume = np.full(len(ts), self.volume)
        return CandleSeries(symbol, "1m", ts, opens, highs, lows, closes, volume)

    def candles(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> CandleSeries:
        step = timeframe_ms(timeframe)
        first = (start_ms // step) * step
        base = self.base_candles(symbol, first, end_ms + step)
        keys = (base.ts // step) * step
        if len(base) == 0:
            return base
        starts = np.flatnonzero(np.concatenate(([True], np.diff(keys) != 0)))
        ends = np.append(starts[1:], len(keys)) - 1
        ts = keys[starts]
        keep = (ts >= start_ms) & (ts < end_ms)
        series = CandleSeries(
            symbol,
            timeframe,
            ts[keep],
            base.open[starts][keep],
            np.maximum.reduceat(base.high, starts)[keep],
            np.minimum.reduceat(base.low, starts)[keep],
            base.close[ends][keep],
            np.add.reduceat(base.volume, starts)[keep],
        )
        return series
