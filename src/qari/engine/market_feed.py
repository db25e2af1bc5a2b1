"""Exchange-backed market feed: candles fetched once per exchange per cycle and shared by all users.

Keeps each symbol's candles in memory and asks the venue only for candles that closed since the last
refresh, so a steady-state cycle costs one small `fetch_ohlcv` per symbol and timeframe. The forming
candle is dropped (closed candles only). A symbol whose fetch fails this cycle is left out rather than
analysed on stale data; when most symbols fail the venue is treated as unavailable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from qari.core.errors import ExchangeUnavailableError, QariError
from qari.core.market import CandleSeries, MarketContext, MarketSnapshot, OrderBook, Ticker
from qari.core.time import last_closed_open_ms, timeframe_ms, to_ms
from qari.market.snapshots import build_snapshots
from qari.market.universe import UniverseRules, select_universe
from qari.ports import ExchangeClient

log = logging.getLogger("qari.engine.market_feed")

TIMEFRAMES = ("15m", "4h", "1d")
# Comfortably above the analysis windows (15m: 320, 4h/1d: 200) so every mode sees the same candles.
HISTORY = {"15m": 400, "1h": 400, "4h": 240, "1d": 240}
FETCH_LIMIT = 1000
BTC = "BTC/USDT"

UniversePicker = Callable[[Mapping[str, Ticker], Sequence[str]], list[str]]


def liquid_universe(rules: UniverseRules | None = None) -> UniversePicker:
    """PRODUCT.md §4's universe among the tradable pairs: the most liquid USDT pairs by 24h quote
    volume, stablecoins and leveraged tokens left out (`market.universe.select_universe`)."""

    def pick(tickers: Mapping[str, Ticker], tradable: Sequence[str]) -> list[str]:
        known = set(tradable)
        return sorted(select_universe({s: t for s, t in tickers.items() if s in known}, rules=rules))

    return pick


def _append(old: CandleSeries | None, rows: list[list[float]], symbol: str, timeframe: str) -> CandleSeries:
    fresh = CandleSeries.from_rows(symbol, timeframe, rows) if rows else None
    if old is None or len(old) == 0:
        return fresh if fresh is not None else CandleSeries.from_rows(symbol, timeframe, [])
    if fresh is None or len(fresh) == 0:
        return old
    keep = fresh.ts > old.ts[-1]
    return CandleSeries(
        symbol,
        timeframe,
        np.concatenate((old.ts, fresh.ts[keep])),
        np.concatenate((old.open, fresh.open[keep])),
        np.concatenate((old.high, fresh.high[keep])),
        np.concatenate((old.low, fresh.low[keep])),
        np.concatenate((old.close, fresh.close[keep])),
        np.concatenate((old.volume, fresh.volume[keep])),
    )


class ExchangeMarketFeed:
    def __init__(
        self,
        client: ExchangeClient,
        *,
        symbols: Sequence[str] | None = None,
        universe: UniversePicker | None = None,
        timeframes: Sequence[str] = TIMEFRAMES,
        with_book: bool = False,
        context: Callable[[int], MarketContext] | None = None,
        concurrency: int = 8,
    ) -> None:
        self.client = client
        self.exchange_id = client.exchange_id
        self.fixed_symbols = list(symbols) if symbols else None
        self.universe = universe or liquid_universe()
        self.timeframes = tuple(timeframes)
        self.with_book = with_book
        self.context = context
        self._limit = asyncio.Semaphore(concurrency)
        self._candles: dict[tuple[str, str], CandleSeries] = {}
        self._tradable: list[str] | None = None

    async def _symbols(self) -> list[str]:
        if self.fixed_symbols is not None:
            return self.fixed_symbols
        if self._tradable is None:
            markets = await self.client.load_markets()
            self._tradable = sorted(s for s, rules in markets.items() if rules.active)
        tickers = await self.client.fetch_tickers()
        return self.universe(tickers, self._tradable)

    async def _update(self, symbol: str, timeframe: str, at_ms: int) -> None:
        step = timeframe_ms(timeframe)
        last_closed = last_closed_open_ms(at_ms, timeframe)
        old = self._candles.get((symbol, timeframe))
        history = HISTORY.get(timeframe, 300)
        if old is not None and len(old) and int(old.ts[-1]) >= last_closed:
            return
        since = int(old.ts[-1]) + step if old is not None and len(old) else last_closed - (history - 1) * step
        limit = min(FETCH_LIMIT, (last_closed - since) // step + 2)
        async with self._limit:
            rows = await self.client.fetch_ohlcv(symbol, timeframe, since, limit)
        closed = [r for r in rows if int(r[0]) <= last_closed]
        series = _append(old, closed, symbol, timeframe)
        self._candles[(symbol, timeframe)] = series.tail(history)

    async def _book(self, symbol: str) -> OrderBook | None:
        async with self._limit:
            return await self.client.fetch_order_book(symbol, 50)

    async def refresh(self, at: dt.datetime) -> dict[str, MarketSnapshot]:
        at_ms = to_ms(at)
        symbols = await self._symbols()
        wanted = sorted({*symbols, BTC})
        jobs = [(s, tf) for s in wanted for tf in self.timeframes]
        results = await asyncio.gather(
            *(self._update(s, tf, at_ms) for s, tf in jobs), return_exceptions=True
        )
        failed = {s for (s, _), r in zip(jobs, results, strict=True) if isinstance(r, BaseException)}
        for (symbol, tf), r in zip(jobs, results, strict=True):
            if isinstance(r, BaseException) and not isinstance(r, QariError | TimeoutError):
                log.error("candle refresh failed for %s %s: %s", symbol, tf, type(r).__name__)
        if wanted and len(failed) * 2 > len(wanted):
            raise ExchangeUnavailableError(f"{len(failed)} of {len(wanted)} symbols could not be refreshed")
        usable = [s for s in symbols if s not in failed]
        books: dict[str, OrderBook] = {}
        if self.with_book:
            fetched = await asyncio.gather(*(self._book(s) for s in usable), return_exceptions=True)
            books = {s: b for s, b in zip(usable, fetched, strict=True) if isinstance(b, OrderBook)}
        series: dict[str, dict[str, CandleSeries]] = {}
        for symbol in wanted:
            if symbol in failed:
                continue
            by_tf = {
                tf: self._candles[(symbol, tf)] for tf in self.timeframes if (symbol, tf) in self._candles
            }
            if all(len(s) for s in by_tf.values()) and len(by_tf) == len(self.timeframes):
                series[symbol] = by_tf
        context = self.context(at_ms) if self.context else None
        return build_snapshots(
            series, at_ms, symbols=[s for s in usable if s in series], context=context, books=books or None
        )
