"""The OHLCV store: closed candles per exchange / symbol / timeframe, fetched incrementally.

One store per exchange is refreshed once per cycle and its series are shared by every user of that
exchange. Each refresh asks the exchange only for candles after the newest one held, keeps only
candles that have closed by `now_ms` (the forming candle is never stored), trims to `max_candles`,
and writes a freqtrade-style JSON cache (`BASE_QUOTE-TF.json`) so a restart does not refetch history.
Timeframes the exchange cannot serve are derived by resampling (4h and 1d from 1h).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qari.analysis.primitives.resample import resample
from qari.core.errors import QariError
from qari.core.market import CandleSeries
from qari.core.time import last_closed_open_ms, timeframe_ms
from qari.market.candle_files import CandleFileError, load_candle_file
from qari.ports import ExchangeClient

log = logging.getLogger(__name__)

PAGE = 1000
MAX_PAGES = 20


@dataclass
class RefreshReport:
    fetched_candles: int = 0
    requests: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # "SYMBOL tf" -> reason


def _empty(symbol: str, timeframe: str) -> CandleSeries:
    z = np.empty(0, dtype=np.float64)
    return CandleSeries(symbol, timeframe, np.empty(0, dtype=np.int64), z, z, z, z, z)


def _concat(a: CandleSeries, rows: np.ndarray) -> CandleSeries:
    return CandleSeries(
        a.symbol,
        a.timeframe,
        np.concatenate((a.ts, rows[:, 0].astype(np.int64))),
        np.concatenate((a.open, rows[:, 1])),
        np.concatenate((a.high, rows[:, 2])),
        np.concatenate((a.low, rows[:, 3])),
        np.concatenate((a.close, rows[:, 4])),
        np.concatenate((a.volume, rows[:, 5])),
    )


def file_name(symbol: str, timeframe: str) -> str:
    return f"{symbol.replace('/', '_').replace(':', '_')}-{timeframe}.json"


class OhlcvStore:
    """Closed candles for one exchange; `refresh` is the only method that talks to the exchange."""

    def __init__(
        self,
        exchange_id: str,
        *,
        cache_dir: Path | None = None,
        max_candles: int = 600,
        derived: dict[str, str] | None = None,
        concurrency: int = 8,
    ) -> None:
        self.exchange_id = exchange_id
        self.cache_dir = cache_dir
        self.max_candles = max_candles
        self.derived = derived or {}  # timeframe -> source timeframe, e.g. {"4h": "1h"}
        self.concurrency = concurrency
        self._series: dict[tuple[str, str], CandleSeries] = {}
        self._last_refresh_ms: int | None = None

    def get(self, symbol: str, timeframe: str) -> CandleSeries | None:
        if timeframe in self.derived:
            source = self._series.get((symbol, self.derived[timeframe]))
            return resample(source, timeframe) if source is not None else None
        return self._series.get((symbol, timeframe))

    def series_by_symbol(
        self, symbols: Iterable[str], timeframes: Iterable[str]
    ) -> dict[str, dict[str, CandleSeries]]:
        """What `build_snapshots` takes: {symbol: {timeframe: series}} for the held data."""
        out: dict[str, dict[str, CandleSeries]] = {}
        tfs = list(timeframes)
        for symbol in symbols:
            got = {tf: s for tf in tfs if (s := self.get(symbol, tf)) is not None and len(s)}
            if got:
                out[symbol] = got
        return out

    def load_cache(self, symbols: Iterable[str], timeframes: Iterable[str]) -> int:
        """Read cached files into memory; returns how many series were loaded."""
        if self.cache_dir is None:
            return 0
        loaded = 0
        for symbol in symbols:
            for tf in self._fetched_timeframes(timeframes):
                path = self.cache_dir / file_name(symbol, tf)
                if not path.is_file():
                    continue
                try:
                    s = load_candle_file(path)
                except CandleFileError as e:
                    log.warning("ignoring unreadable candle cache %s: %s", path.name, e)
                    continue
                self._series[(symbol, tf)] = CandleSeries(
                    symbol, tf, s.ts, s.open, s.high, s.low, s.close, s.volume
                )
                loaded += 1
        return loaded

    def _fetched_timeframes(self, timeframes: Iterable[str]) -> list[str]:
        out: list[str] = []
        for tf in timeframes:
            src = self.derived.get(tf, tf)
            if src not in out:
                out.append(src)
        return out

    async def refresh(
        self, client: ExchangeClient, symbols: Iterable[str], timeframes: Iterable[str], now_ms: int
    ) -> RefreshReport:
        """Fetch the candles that closed since the last refresh, for every symbol and timeframe."""
        report = RefreshReport()
        gate = asyncio.Semaphore(self.concurrency)
        jobs = [(s, tf) for s in symbols for tf in self._fetched_timeframes(timeframes)]

        async def one(symbol: str, tf: str) -> None:
            async with gate:
                try:
                    await self._refresh_one(client, symbol, tf, now_ms, report)
                except QariError as e:
                    report.failed[f"{symbol} {tf}"] = str(e)

        await asyncio.gather(*(one(s, tf) for s, tf in jobs))
        self._last_refresh_ms = now_ms
        return report

    async def _refresh_one(
        self, client: ExchangeClient, symbol: str, tf: str, now_ms: int, report: RefreshReport
    ) -> None:
        step = timeframe_ms(tf)
        last_closed = last_closed_open_ms(now_ms, tf)
        have = self._series.get((symbol, tf)) or _empty(symbol, tf)
        newest = int(have.ts[-1]) if len(have) else None
        if newest is not None and newest >= last_closed:
            return
        since = newest + step if newest is not None else last_closed - (self.max_candles - 1) * step
        added = 0
        for _ in range(MAX_PAGES):
            rows = await client.fetch_ohlcv(symbol, tf, since_ms=since, limit=PAGE)
            report.requests += 1
            arr = np.asarray(rows, dtype=np.float64).reshape(-1, 6) if rows else np.empty((0, 6))
            if arr.shape[0]:
                arr = arr[np.argsort(arr[:, 0], kind="stable")]
                newest_ts = int(have.ts[-1]) if len(have) else -1
                arr = arr[(arr[:, 0] > newest_ts) & (arr[:, 0] <= last_closed)]
                arr = arr[np.concatenate(([True], np.diff(arr[:, 0]) > 0))] if arr.shape[0] else arr
            if arr.shape[0] == 0:
                break
            have = _concat(have, arr)
            added += arr.shape[0]
            if int(have.ts[-1]) >= last_closed or len(rows) < PAGE:
                break
            since = int(have.ts[-1]) + step
        if added == 0:
            return
        have = have.tail(self.max_candles)
        self._series[(symbol, tf)] = have
        report.fetched_candles += added
        if self.cache_dir is not None:
            self._write_cache(have)

    def _write_cache(self, s: CandleSeries) -> None:
        assert self.cache_dir is not None
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        rows = np.column_stack((s.ts.astype(np.float64), s.open, s.high, s.low, s.close, s.volume)).tolist()
        for row in rows:
            row[0] = int(row[0])
        target = self.cache_dir / file_name(s.symbol, s.timeframe)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(rows, separators=(",", ":")))
        tmp.replace(target)
