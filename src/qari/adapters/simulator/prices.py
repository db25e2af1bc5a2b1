"""Where the sandbox's prices come from: replayed candle files or a seeded synthetic market.

Both sources answer the same two questions (`PriceSource`): the candles of a timeframe in a time window,
and the finest ("base") candles the price path is walked on. Inside a candle the path runs
open → low → high → close for a rising candle and open → high → low → close for a falling one, with
the points at 0, ¼, ½ and ¾ of the candle and the close held until the next open (`PricePath`).

Replayed files are shifted in time by a whole number of weeks so that the replay starts at the
simulation's start time (weekday alignment kept); the synthetic market is a pure function of
(seed, symbol, absolute time), so every run and every start time sees the same prices.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from qari.core.market import CandleSeries, FloatArray, IntArray
from qari.core.time import from_ms, timeframe_ms
from qari.market.candle_files import discover, load_candle_file

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
_MONDAY_OFFSET_MS = 4 * DAY_MS  # 1970-01-01 was a Thursday; Bybit's weekly candles open on Monday
MONTH = "1M"


class PriceSource(Protocol):
    def symbols(self) -> list[str]: ...

    def base_timeframe(self, symbol: str) -> str: ...

    def base_candles(self, symbol: str, start_ms: int, end_ms: int) -> CandleSeries:
        """Base-timeframe candles whose open time lies in [start_ms, end_ms)."""
        ...

    def listed_from(self, symbol: str) -> int | None:
        """Open time of the symbol's first candle (None: always listed)."""
        ...

    def candles(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> CandleSeries:
        """Candles of any timeframe (`1m`…`1w`, `1M`) opening in [start_ms, end_ms), closed or not."""
        ...


@runtime_checkable
class HeldPrices(Protocol):
    """A `PriceSource` that holds each symbol's whole base series (replays): a `PricePath` reads a
    price straight from it instead of slicing a window first (the same candles, the same numbers)."""

    def base_series(self, symbol: str) -> CandleSeries: ...


def bucket_start(ts: IntArray, timeframe: str) -> IntArray:
    """The open time of the `timeframe` candle each timestamp falls into."""
    if timeframe == MONTH:
        months = ts.astype("datetime64[ms]").astype("datetime64[M]")
        return months.astype("datetime64[ms]").astype(np.int64)
    step = timeframe_ms(timeframe)
    offset = _MONDAY_OFFSET_MS if timeframe == "1w" else 0
    return ((ts - offset) // step) * step + offset


def aggregate(series: CandleSeries, timeframe: str) -> CandleSeries:
    """Combine finer candles into `timeframe` candles (the last one may be incomplete)."""
    if len(series) == 0:
        return CandleSeries(series.symbol, timeframe, *_empty())
    keys = bucket_start(series.ts, timeframe)
    starts = np.flatnonzero(np.concatenate(([True], np.diff(keys) != 0)))
    ends = np.append(starts[1:], len(keys)) - 1
    return CandleSeries(
        series.symbol,
        timeframe,
        keys[starts],
        series.open[starts],
        np.maximum.reduceat(series.high, starts),
        np.minimum.reduceat(series.low, starts),
        series.close[ends],
        np.add.reduceat(series.volume, starts),
    )


def _empty() -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    f = np.empty(0, dtype=np.float64)
    return np.empty(0, dtype=np.int64), f, f, f, f, f


def _slice(series: CandleSeries, start_ms: int, end_ms: int) -> CandleSeries:
    i = int(series.ts.searchsorted(start_ms, side="left"))
    j = int(series.ts.searchsorted(end_ms, side="left"))
    return CandleSeries(
        series.symbol,
        series.timeframe,
        series.ts[i:j],
        series.open[i:j],
        series.high[i:j],
        series.low[i:j],
        series.close[i:j],
        series.volume[i:j],
    )


def _tf_ms(timeframe: str) -> int:
    return 31 * DAY_MS if timeframe == MONTH else timeframe_ms(timeframe)


class CandleReplay:
    """Replays freqtrade candle files, shifted by `shift_ms` (a whole number of weeks)."""

    def __init__(self, files: dict[tuple[str, str], Path], *, shift_ms: int = 0) -> None:
        if shift_ms % WEEK_MS:
            raise ValueError("replay shift must be a whole number of weeks")
        self._files: dict[str, dict[str, Path]] = {}
        for (symbol, tf), path in files.items():
            if tf in _SUPPORTED:
                self._files.setdefault(symbol, {})[tf] = path
        if not self._files:
            raise ValueError("no candle files with a usable timeframe (1m … 1w)")
        self.shift_ms = shift_ms
        self._loaded: dict[tuple[str, str], CandleSeries] = {}
        self._base = {symbol: min(tfs, key=timeframe_ms) for symbol, tfs in self._files.items()}

    @classmethod
    def from_dir(cls, data_dir: Path, *, symbols: Sequence[str] | None = None) -> CandleReplay:
        files = discover(data_dir)
        if symbols is not None:
            wanted = set(symbols)
            files = {k: v for k, v in files.items() if k[0] in wanted}
        return cls(files)

    def symbols(self) -> list[str]:
        return sorted(self._files)

    def base_timeframe(self, symbol: str) -> str:
        return self._base[symbol]

    def base_series(self, symbol: str) -> CandleSeries:
        return self._series(symbol, self._base[symbol])

    def _series(self, symbol: str, tf: str) -> CandleSeries:
        key = (symbol, tf)
        if key not in self._loaded:
            raw = load_candle_file(self._files[symbol][tf])
            self._loaded[key] = CandleSeries(
                symbol, tf, raw.ts + self.shift_ms, raw.open, raw.high, raw.low, raw.close, raw.volume
            )
        return self._loaded[key]

    def listed_from(self, symbol: str) -> int | None:
        series = self._series(symbol, self.base_timeframe(symbol))
        return int(series.ts[0]) if len(series) else None

    def data_span(self) -> tuple[int, int]:
        """(first open, last open) over all symbols' base candles, unshifted."""
        firsts, lasts = [], []
        for symbol in self.symbols():
            s = self._series(symbol, self.base_timeframe(symbol))
            if len(s):
                firsts.append(int(s.ts[0]) - self.shift_ms)
                lasts.append(int(s.ts[-1]) - self.shift_ms)
        return min(firsts), max(lasts)

    def align_start(self, sim_start_ms: int, *, future_days: int = 30) -> None:
        """Shift so that `sim_start_ms` falls `future_days` before the data ends (history before it)."""
        first, last = self.data_span()
        data_point = max(first, last - future_days * DAY_MS)
        self.shift_ms = ((sim_start_ms - data_point) // WEEK_MS) * WEEK_MS
        self._loaded.clear()

    def start_at(self, data_ms: int, sim_now_ms: int) -> int:
        """Shift by whole weeks so that the data's moment `data_ms` falls in the week up to
        `sim_now_ms`; returns that shifted moment (where a replay clock starting now should begin)."""
        first, last = self.data_span()
        if not first <= data_ms <= last:
            raise ValueError(
                f"replay start {_iso(data_ms)} is outside the data ({_iso(first)} to {_iso(last)})"
            )
        self.shift_ms = ((sim_now_ms - data_ms) // WEEK_MS) * WEEK_MS
        self._loaded.clear()
        return data_ms + self.shift_ms

    def base_candles(self, symbol: str, start_ms: int, end_ms: int) -> CandleSeries:
        return _slice(self.base_series(symbol), start_ms, end_ms)

    def candles(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> CandleSeries:
        available = self._files[symbol]
        if timeframe in available and timeframe != MONTH:
            return _slice(self._series(symbol, timeframe), start_ms, end_ms)
        finer = [tf for tf in available if _divides(tf, timeframe)]
        if not finer:
            raise ValueError(f"no candles for {symbol} at {timeframe}")
        source = max(finer, key=timeframe_ms)
        lo = int(bucket_start(np.asarray([start_ms], dtype=np.int64), timeframe)[0])
        return _slice(
            aggregate(_slice(self._series(symbol, source), lo, end_ms), timeframe), start_ms, end_ms
        )


def _iso(ms: int) -> str:
    return from_ms(ms).strftime("%Y-%m-%dT%H:%MZ")


_SUPPORTED = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d", "1w")


def _divides(fine: str, coarse: str) -> bool:
    if coarse == MONTH:
        return timeframe_ms(fine) <= DAY_MS and DAY_MS % timeframe_ms(fine) == 0
    return timeframe_ms(coarse) % timeframe_ms(fine) == 0 and timeframe_ms(fine) <= timeframe_ms(coarse)


@dataclass(frozen=True, slots=True)
class SyntheticSymbol:
    symbol: str
    start_price: float
    quote_volume_5m: float  # typical traded value per 5-minute candle


DEFAULT_SYNTHETIC = (
    SyntheticSymbol("BTC/USDT", 60_000.0, 4_000_000.0),
    SyntheticSymbol("ETH/USDT", 3_000.0, 2_000_000.0),
    SyntheticSymbol("SOL/USDT", 150.0, 800_000.0),
    SyntheticSymbol("XRP/USDT", 0.6, 400_000.0),
    SyntheticSymbol("DOGE/USDT", 0.15, 300_000.0),
)

_EPOCH_DAY = 18_262  # 2020-01-01, day index since 1970
_MAX_DAYS = 20_000  # anchors until 2074


class SyntheticMarket:
    """A seeded random market on 5-minute candles, identical for any start time and run.

    Daily anchors follow a mean-reverting random walk in log price (≈3 % daily volatility); inside a
    day a Brownian bridge at one-minute resolution connects consecutive anchors.
    """

    BASE = "5m"

    def __init__(
        self, seed: int, symbols: Sequence[SyntheticSymbol] = DEFAULT_SYNTHETIC, *, daily_vol: float = 0.03
    ) -> None:
        self.seed = seed
        self._specs = {s.symbol: (i, s) for i, s in enumerate(symbols)}
        self._daily_vol = daily_vol
        self._anchors: dict[str, FloatArray] = {}
        self._days: dict[tuple[str, int], tuple[FloatArray, ...]] = {}

    def symbols(self) -> list[str]:
        return list(self._specs)

    def base_timeframe(self, symbol: str) -> str:
        return self.BASE

    def listed_from(self, symbol: str) -> int | None:
        return None

    def _anchor(self, symbol: str, day: int) -> float:
        if symbol not in self._anchors:
            index, spec = self._specs[symbol]
            self._anchors[symbol] = _anchor_walk(self.seed, index, spec.start_price, self._daily_vol)
        return float(self._anchors[symbol][min(max(day - _EPOCH_DAY, 0), _MAX_DAYS - 1)])

    def _day(self, symbol: str, day: int) -> tuple[FloatArray, ...]:
        key = (symbol, day)
        cached = self._days.get(key)
        if cached is not None:
            return cached
        index, spec = self._specs[symbol]
        rng = np.random.default_rng([self.seed, index, 1, day])
        path = np.exp(self._log_path(symbol, day, rng))
        blocks = path[:-1].reshape(-1, 5)
        opens = blocks[:, 0]
        closes = path[5::5]
        highs = np.maximum(blocks.max(axis=1), closes)
        lows = np.minimum(blocks.min(axis=1), closes)
        activity = rng.lognormal(0.0, 0.4, size=len(opens)) * self._move_volume(np.log(closes / opens))
        volume = spec.quote_volume_5m * activity / closes
        ts = day * DAY_MS + np.arange(len(opens), dtype=np.int64) * 300_000
        arrays: tuple[FloatArray, ...] = (ts.astype(np.float64), opens, highs, lows, closes, volume)
        if len(self._days) > 4096:
            self._days.clear()
        self._days[key] = arrays
        return arrays

    def _log_path(self, symbol: str, day: int, rng: np.random.Generator) -> FloatArray:
        """Log price at each minute of `day` (1441 points, both midnights included): a Brownian bridge
        between the day's anchors."""
        minutes = 1440
        a0, a1 = self._anchor(symbol, day), self._anchor(symbol, day + 1)
        sigma = self._daily_vol / math.sqrt(minutes)
        walk = np.concatenate(([0.0], np.cumsum(rng.standard_normal(minutes) * sigma)))
        frac = np.linspace(0.0, 1.0, minutes + 1)
        return np.asarray(a0 + frac * (a1 - a0) + walk - frac * walk[-1], dtype=np.float64)

    def _move_volume(self, log_moves: FloatArray) -> FloatArray:
        """Volume multiplier of each candle's move: busier the further price travelled."""
        return np.asarray(1.0 + 200.0 * np.abs(log_moves), dtype=np.float64)

    def base_candles(self, symbol: str, start_ms: int, end_ms: int) -> CandleSeries:
        if symbol not in self._specs:
            raise KeyError(symbol)
        if end_ms <= start_ms:
            return CandleSeries(symbol, self.BASE, *_empty())
        first, last = start_ms // DAY_MS, (end_ms - 1) // DAY_MS
        parts = [self._day(symbol, d) for d in range(first, last + 1)]
        cols = [np.concatenate([p[k] for p in parts]) for k in range(6)]
        series = CandleSeries(symbol, self.BASE, cols[0].astype(np.int64), *cols[1:])
        return _slice(series, start_ms, end_ms)

    def candles(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> CandleSeries:
        if timeframe == self.BASE:
            return self.base_candles(symbol, start_ms, end_ms)
        if timeframe_ms_or_month(timeframe) < timeframe_ms(self.BASE):
            raise ValueError(f"synthetic candles are 5m or coarser, not {timeframe}")
        lo = int(bucket_start(np.asarray([start_ms], dtype=np.int64), timeframe)[0])
        return _slice(aggregate(self.base_candles(symbol, lo, end_ms), timeframe), start_ms, end_ms)


def timeframe_ms_or_month(timeframe: str) -> int:
    return _tf_ms(timeframe)


@functools.cache
def _anchor_walk(seed: int, index: int, start_price: float, daily_vol: float) -> FloatArray:
    """Daily log-price anchors: a random walk pulled 2 % a day back towards the start price."""
    shocks = (np.random.default_rng([seed, index, 0]).standard_normal(_MAX_DAYS) * daily_vol).tolist()
    level = math.log(start_price)
    out = [0.0] * _MAX_DAYS
    x = level
    for i, shock in enumerate(shocks):
        out[i] = x
        x += 0.02 * (level - x) + shock
    return np.asarray(out, dtype=np.float64)


class _HeldIndex:
    """A held base series as a replay reads it at every step: its open times as a list (a bisect there
    costs a fraction of a NumPy call) and each candle's open, high, low and close side by side."""

    __slots__ = ("ohlc", "series", "ts")

    def __init__(self, series: CandleSeries) -> None:
        self.series = series
        self.ts: list[int] = series.ts.tolist()
        self.ohlc = np.column_stack((series.open, series.high, series.low, series.close))


class PricePath:
    """The piecewise-linear intraday price path of one symbol, built from its base candles."""

    def __init__(self, source: PriceSource, symbol: str) -> None:
        self.source = source
        self.symbol = symbol
        self.step_ms = timeframe_ms(source.base_timeframe(symbol))
        self._held = source if isinstance(source, HeldPrices) else None
        self._index: _HeldIndex | None = None

    def points(self, start_ms: int, end_ms: int) -> tuple[IntArray, FloatArray, FloatArray]:
        """Path points (time, price, volume traded since the previous point) with start < time <= end;
        each of a candle's four quarters carries a quarter of its volume."""
        candles = self.source.base_candles(self.symbol, start_ms - self.step_ms, end_ms + 1)
        n = len(candles)
        if n == 0:
            return np.empty(0, dtype=np.int64), np.empty(0), np.empty(0)
        rising = candles.close >= candles.open
        quarter = self.step_ms // 4
        times = (candles.ts[:, None] + np.arange(4, dtype=np.int64) * quarter).reshape(-1)
        grid = np.empty((n, 4), dtype=np.float64)
        grid[:, 0] = candles.open
        grid[:, 1] = np.where(rising, candles.low, candles.high)
        grid[:, 2] = np.where(rising, candles.high, candles.low)
        grid[:, 3] = candles.close
        prices = grid.reshape(-1)
        vol = np.repeat(candles.volume / 4.0, 4)
        keep = (times > start_ms) & (times <= end_ms)
        return times[keep], prices[keep], vol[keep]

    def price_at(self, ms: int) -> float | None:
        """Price at `ms` (linear between path points); None before the first candle."""
        if self._held is not None:
            return self._held_price_at(ms)
        candles = self.source.base_candles(self.symbol, ms - self.step_ms, ms + 1)
        if len(candles) == 0:
            earlier = self.source.base_candles(self.symbol, ms - 30 * DAY_MS, ms + 1)
            return float(earlier.close[-1]) if len(earlier) else None
        return self.price_in(candles, ms)

    def _held_index(self) -> _HeldIndex:
        series = self._held.base_series(self.symbol) if self._held is not None else None
        assert series is not None, "only a held series is indexed"
        if self._index is None or self._index.series is not series:
            self._index = _HeldIndex(series)
        return self._index

    def _held_price_at(self, ms: int) -> float | None:
        """`price_at` over the whole series: the candle it reads is the last one opening at or before
        `ms`, which is also the last of the window `price_at` slices (when that window has one)."""
        index = self._held_index()
        i = bisect.bisect_right(index.ts, ms) - 1
        if i < 0:
            return None
        opened = index.ts[i]
        if opened < ms - self.step_ms:  # the window [ms - step, ms] is empty
            return float(index.series.close[i]) if opened >= ms - 30 * DAY_MS else None
        return self._along(opened, index.ohlc[i].tolist(), ms)

    def price_in(self, candles: CandleSeries, ms: int) -> float:
        """Price at `ms` from non-empty `candles` whose last one opens at or before `ms`."""
        return self._interpolate(candles, int(candles.ts.searchsorted(ms, side="right")) - 1, ms)

    def _interpolate(self, candles: CandleSeries, i: int, ms: int) -> float:
        ohlc = [float(a[i]) for a in (candles.open, candles.high, candles.low, candles.close)]
        return self._along(int(candles.ts[i]), ohlc, ms)

    def _along(self, t0: int, ohlc: list[float], ms: int) -> float:
        """The path inside the candle opening at `t0` with `ohlc` (open, high, low, close), at `ms`."""
        o, h, low, c = ohlc
        if ms >= t0 + self.step_ms:
            return c
        pts = (o, low, h, c) if c >= o else (o, h, low, c)
        pos = (ms - t0) / (self.step_ms / 4)
        k = int(pos)
        if k >= 3:
            return pts[3]
        return pts[k] + (pts[k + 1] - pts[k]) * (pos - k)

    def range_until(self, start_ms: int, end_ms: int) -> tuple[float, float, float] | None:
        """(low, high, price at end) bounding the path over (start, end] — one slice, no path points."""
        candles, i, j = self._span(start_ms - self.step_ms, end_ms + 1)
        if i == j or candles.ts[i] > end_ms:
            return None
        low, high = float(candles.low[i:j].min()), float(candles.high[i:j].max())
        return low, high, self._interpolate(candles, j - 1, end_ms)

    def turnover(self, start_ms: int, end_ms: int) -> float:
        """Traded quote value (volume × close) of the base candles opening in [start_ms, end_ms)."""
        candles, i, j = self._span(start_ms, end_ms)
        return float((candles.volume[i:j] * candles.close[i:j]).sum()) if i < j else 0.0

    def _span(self, start_ms: int, end_ms: int) -> tuple[CandleSeries, int, int]:
        """The base candles opening in [start_ms, end_ms) as (series, first, stop): the held series
        and its indexes, or the source's window whole (the same candles either way)."""
        if self._held is not None:
            index = self._held_index()
            return index.series, bisect.bisect_left(index.ts, start_ms), bisect.bisect_left(index.ts, end_ms)
        window = self.source.base_candles(self.symbol, start_ms, end_ms)
        return window, 0, len(window)
