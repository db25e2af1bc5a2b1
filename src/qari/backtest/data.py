"""Which candles a backtest replays: pairs with entry-timeframe data, their 4h/1d context, the period.

The same files `qari scan` and `qari sandbox --data` read (`qari.market.candle_files`). A missing
context timeframe is built from the entry timeframe by aggregation, never invented.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qari.core.market import CandleSeries
from qari.core.time import from_ms, timeframe_ms, to_ms
from qari.market.candle_files import CandleFileError, discover, load_candle_file

ENTRY_TIMEFRAMES = ("15m", "5m", "1h")
CONTEXT_TIMEFRAMES = ("4h", "1d")
WARMUP = dt.timedelta(days=10)  # enough closed 15m candles (>= 320) before the first cycle


class BacktestError(ValueError):
    """Input a backtest cannot run with; the message says what to change."""


@dataclass(frozen=True, slots=True)
class MarketData:
    data_dir: Path
    entry_timeframe: str
    series: dict[str, dict[str, CandleSeries]]  # symbol -> timeframe -> candles (BTC kept for context)
    pairs: tuple[str, ...]  # what the engine scans and may trade
    start: dt.datetime
    end: dt.datetime

    @property
    def symbols(self) -> list[str]:
        return list(self.pairs)

    def candle_count(self) -> int:
        """Entry-timeframe candles replayed between start and end, all pairs."""
        return self.candles_until(self.end)

    def candles_until(self, at: dt.datetime) -> int:
        """Entry-timeframe candles from start up to `at` (inclusive), all pairs: the replay's progress."""
        lo, hi = to_ms(self.start), to_ms(min(at, self.end))
        total = 0
        for symbol in self.pairs:
            ts = self.series[symbol][self.entry_timeframe].ts
            total += int(np.searchsorted(ts, hi, side="right") - np.searchsorted(ts, lo, side="left"))
        return total


def aggregate(series: CandleSeries, timeframe: str) -> CandleSeries:
    """Fold candles into a coarser timeframe (buckets aligned to the epoch, like exchanges do)."""
    step = timeframe_ms(timeframe)
    if len(series) == 0:
        return CandleSeries(series.symbol, timeframe, *(np.empty(0) for _ in range(6)))  # type: ignore[arg-type]
    bucket = (series.ts // step) * step
    starts = np.flatnonzero(np.concatenate(([True], np.diff(bucket) != 0)))
    ends = np.concatenate((starts[1:], [len(series)])) - 1
    return CandleSeries(
        series.symbol,
        timeframe,
        bucket[starts].astype(np.int64),
        series.open[starts].copy(),
        np.maximum.reduceat(series.high, starts),
        np.minimum.reduceat(series.low, starts),
        series.close[ends].copy(),
        np.add.reduceat(series.volume, starts),
    )


def _entry_timeframe(available: dict[tuple[str, str], Path]) -> str:
    for timeframe in ENTRY_TIMEFRAMES:
        if any(tf == timeframe for _, tf in available):
            return timeframe
    raise BacktestError(f"no candle files with an entry timeframe ({', '.join(ENTRY_TIMEFRAMES)}) found")


def load_market_data(
    data_dir: Path,
    pairs: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    *,
    entry_timeframe: str | None = None,
    with_btc: bool = True,
) -> MarketData:
    try:
        available = discover(data_dir)
    except CandleFileError as e:
        raise BacktestError(f"--data {data_dir}: not a directory of candle files ({e})") from None
    if not available:
        raise BacktestError(f"--data {data_dir}: no candle files (expected names like BTC_USDT-15m.feather)")
    entry_tf = entry_timeframe or _entry_timeframe(available)
    with_entry = sorted(symbol for symbol, tf in available if tf == entry_tf)
    if pairs:
        missing = [p for p in pairs if p not in with_entry]
        if missing:
            raise BacktestError(
                f"no {entry_tf} candles for {', '.join(missing)} in {data_dir}; "
                f"available: {', '.join(with_entry[:12])}{' …' if len(with_entry) > 12 else ''}"
            )
        chosen = list(pairs)
    else:
        chosen = with_entry
    wanted = list(chosen)
    if with_btc and "BTC/USDT" not in wanted and ("BTC/USDT", entry_tf) in available:
        wanted.append("BTC/USDT")  # context for the BTC layer, traded only when chosen
    series: dict[str, dict[str, CandleSeries]] = {}
    for symbol in wanted:
        by_tf = {entry_tf: _load(available[(symbol, entry_tf)])}
        for tf in CONTEXT_TIMEFRAMES:
            path = available.get((symbol, tf))
            by_tf[tf] = _load(path) if path else aggregate(by_tf[entry_tf], tf)
        series[symbol] = by_tf
    first = min(int(s[entry_tf].ts[0]) for s in series.values() if len(s[entry_tf]))
    last = max(int(s[entry_tf].ts[-1]) for s in series.values() if len(s[entry_tf]))
    data_start = from_ms(first) + WARMUP
    data_end = from_ms(last + timeframe_ms(entry_tf))
    begin = max(start or data_start, from_ms(first))
    finish = min(end or data_end, data_end)
    if finish <= begin:
        raise BacktestError(
            f"the period {begin:%Y-%m-%d %H:%M} → {finish:%Y-%m-%d %H:%M} holds no candles; "
            f"data covers {from_ms(first):%Y-%m-%d} → {data_end:%Y-%m-%d}"
        )
    return MarketData(Path(data_dir), entry_tf, series, tuple(chosen), begin, finish)


def _load(path: Path) -> CandleSeries:
    try:
        return load_candle_file(path)
    except CandleFileError as e:
        raise BacktestError(str(e)) from None
