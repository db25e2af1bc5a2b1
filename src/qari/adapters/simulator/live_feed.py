"""A sandbox price source following a real venue's public market data (`QARI_SANDBOX_FEED`).

`LiveFeed` keeps a rolling window of each symbol's finest candles (1m where the venue has it), read
through ccxt's public, keyless endpoints, and refreshes it in the background: a daemon thread runs its
own event loop, so the sandbox's synchronous `PriceSource` calls only ever read memory (each refresh
replaces a symbol's series whole, an atomic swap). The symbols are the venue's most liquid USDT pairs
(`select_universe` over its tickers). Coarser candles (4h, 1d, ...) are fetched from the venue on first
demand and kept fresh; until then, and for the newest buckets, they are built from the finest candles.
The sandbox's order books are its own `BookModel` around the followed price, not the venue's book.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

import numpy as np

from qari.adapters.exchanges.capabilities import capabilities_for
from qari.adapters.exchanges.ccxt_instances import public_ccxt
from qari.adapters.exchanges.parse import ticker_from_ccxt
from qari.adapters.simulator.prices import MONTH, _empty, _slice, _tf_ms, aggregate
from qari.core.market import CandleSeries
from qari.core.time import timeframe_ms
from qari.market.universe import UniverseRules, select_universe

log = logging.getLogger(__name__)

MINUTE_MS = 60_000
_BASES = ("1m", "3m", "5m", "15m")  # the finest of these the venue serves is followed


class FeedUnreachable(RuntimeError):
    """The venue's public market data could not be read at start."""


class LiveFeed:
    """`PriceSource` over a real venue's recent public candles; `start()` loads, then refreshes."""

    def __init__(
        self,
        venue: str,
        *,
        base_url: str | None = None,
        size: int = 30,
        window_minutes: int = 1440,
        refresh_s: float = 15.0,
        coarse_refresh_s: float = 300.0,
        coarse_limit: int = 500,
        timeout_ms: int = 10_000,
        stale_after_s: float = 120.0,
    ) -> None:
        self.venue = venue
        self.caps = capabilities_for(venue)
        self.base_url = base_url
        self.size = size
        self.window_ms = window_minutes * MINUTE_MS
        self.refresh_s = refresh_s
        self.coarse_refresh_s = coarse_refresh_s
        self.coarse_limit = coarse_limit
        self.timeout_ms = timeout_ms
        self.stale_after_s = max(stale_after_s, 2 * refresh_s)
        self._symbols: list[str] = []
        self._base_tf = "1m"
        self._timeframes: set[str] = set()
        self._base: dict[str, CandleSeries] = {}
        self._fetched_ms: dict[str, int] = {}  # when each symbol's newest candle was asked for
        self._coarse: dict[tuple[str, str], tuple[float, CandleSeries]] = {}  # (fetched at, series)
        self._wanted: set[tuple[str, str]] = set()
        self._last_ok = 0.0  # monotonic time of the last refresh that read every symbol
        self._last_error: str | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None  # set by `stop` to end the refresh loop's wait

    # ------------------------------------------------------------------------------ PriceSource
    def symbols(self) -> list[str]:
        return list(self._symbols)

    def base_timeframe(self, symbol: str) -> str:
        return self._base_tf

    def listed_from(self, symbol: str) -> int | None:
        return None

    def base_candles(self, symbol: str, start_ms: int, end_ms: int) -> CandleSeries:
        series = self._base.get(symbol)
        if series is None:
            return CandleSeries(symbol, self._base_tf, *_empty())
        if len(series):
            # The newest candle was read while it formed; once its minute is over it would pass for
            # closed (and be cached as such) though it lacks its last seconds: hidden until re-read.
            end = int(series.ts[-1]) + timeframe_ms(self._base_tf)
            if self._fetched_ms.get(symbol, 0) < end <= _wall_ms():
                end_ms = min(end_ms, int(series.ts[-1]))
        return _slice(series, start_ms, end_ms)

    def candles(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> CandleSeries:
        if timeframe == self._base_tf:
            return self.base_candles(symbol, start_ms, end_ms)
        if _tf_ms(timeframe) < timeframe_ms(self._base_tf):
            raise ValueError(f"{self.venue} candles are {self._base_tf} or coarser, not {timeframe}")
        base = self.base_candles(symbol, 0, 2**62)  # without a stale newest candle
        built = aggregate(base, timeframe)
        if len(base):
            built = _slice(built, int(base.ts[0]), end_ms)  # only buckets the window covers whole
        held = self._coarse.get((symbol, timeframe))
        if held is None:
            if timeframe in self._timeframes:
                self._wanted.add((symbol, timeframe))  # fetched by the next refresh
            return _slice(built, start_ms, end_ms)
        series = held[1]
        cut = int(built.ts[0]) if len(built) else (int(series.ts[-1]) + 1 if len(series) else 0)
        older = _slice(series, start_ms, cut)
        newer = _slice(built, max(cut, start_ms), end_ms)
        return _concat(symbol, timeframe, older, newer)

    # ------------------------------------------------------------------------------ lifecycle
    def start(self, wait_s: float = 60.0) -> None:
        """Load the markets, pick the symbols, read their windows, then keep them fresh in the
        background. Raises `FeedUnreachable` (with the reason) if the venue cannot be read."""
        self._thread = threading.Thread(target=self._run, name=f"feed-{self.venue}", daemon=True)
        self._thread.start()
        if not self._ready.wait(wait_s):
            self.stop()
            raise FeedUnreachable(f"{self.venue} did not answer within {wait_s:.0f} s")
        if self._start_error is not None:
            self.stop()
            raise FeedUnreachable(_reason(self._start_error)) from self._start_error

    def stop(self) -> None:
        self._stop.set()
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already finished
                self._loop.call_soon_threadsafe(self._wake.set)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def problem(self) -> str | None:
        """Why the followed prices are stale (no full refresh for a while), or None."""
        age = time.monotonic() - self._last_ok
        if self._last_ok and age > self.stale_after_s:
            why = f" ({self._last_error})" if self._last_error else ""
            return f"sandbox feed: {self.venue} prices are {age:.0f} s old{why}"
        return None

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        wake = self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        exchange = public_ccxt(self.caps, base_url=self.base_url, timeout_ms=self.timeout_ms)
        try:
            try:
                await self._load(exchange)
            except Exception as e:  # any failure at start: fall back, with the reason
                self._start_error = e
                return
            finally:
                self._ready.set()
            step = timeframe_ms(self._base_tf)
            while not self._stop.is_set():
                # wake every refresh_s, and just after each candle closes (its final values)
                to_close = (step - _wall_ms() % step + 1_500) / 1000
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), min(self.refresh_s, to_close))
                if self._stop.is_set():
                    break
                try:
                    await self._refresh(exchange)
                    self._last_ok = time.monotonic()
                    self._last_error = None
                except Exception as e:  # logged, shown in health; the next refresh retries
                    self._last_error = _reason(e)
                    log.warning("sandbox feed: refreshing %s failed: %s", self.venue, self._last_error)
        finally:
            await exchange.close()

    async def _load(self, exchange: Any) -> None:
        await exchange.load_markets()
        served = set(exchange.timeframes or {})
        self._base_tf = next((tf for tf in _BASES if tf in served), "1m")
        self._timeframes = {tf for tf in served if tf == MONTH or _valid(tf)}
        raw = await exchange.fetch_tickers()
        tickers = {s: ticker_from_ccxt(s, t) for s, t in raw.items() if s in exchange.markets}
        spot = {s: t for s, t in tickers.items() if exchange.markets[s].get("spot", False)}
        symbols = select_universe(spot, rules=UniverseRules(size=self.size))
        if not symbols:
            raise FeedUnreachable(f"{self.venue} lists no USDT spot pairs with a 24 h volume")
        now = exchange.milliseconds()
        await asyncio.gather(*(self._read_base(exchange, s, now - self.window_ms) for s in symbols))
        self._symbols = [s for s in symbols if s in self._base and len(self._base[s])]
        if not self._symbols:
            raise FeedUnreachable(f"{self.venue} returned no candles")
        self._last_ok = time.monotonic()
        log.info(
            "sandbox feed: following %s (%d pairs, %s candles, refreshed every %.0f s)",
            self.venue,
            len(self._symbols),
            self._base_tf,
            self.refresh_s,
        )

    async def _refresh(self, exchange: Any) -> None:
        now = exchange.milliseconds()
        await asyncio.gather(*(self._read_base(exchange, s, now - self.window_ms) for s in self._symbols))
        clock = time.monotonic()
        due = [
            key
            for key in set(self._wanted) | set(self._coarse)
            if key not in self._coarse or clock - self._coarse[key][0] > self.coarse_refresh_s
        ]
        await asyncio.gather(*(self._read_coarse(exchange, s, tf) for s, tf in due))

    async def _read_base(self, exchange: Any, symbol: str, window_start: int) -> None:
        """Fetch from the last candle held (it may have changed) or the window's start, page by page;
        merge and trim the window."""
        held = self._base.get(symbol)
        asked = _wall_ms()
        since = int(held.ts[-1]) if held is not None and len(held) else window_start
        rows: list[list[Any]] = []
        step = timeframe_ms(self._base_tf)
        while True:
            page = await exchange.fetch_ohlcv(symbol, self._base_tf, since=since, limit=1000)
            rows += page
            # done at the candle forming now (or when a page brings nothing new)
            if not page or int(page[-1][0]) < since or int(page[-1][0]) + step > exchange.milliseconds():
                break
            since = int(page[-1][0]) + 1
        fresh = _series(symbol, self._base_tf, rows)
        merged = fresh if held is None else _merge(held, fresh)
        self._base[symbol] = _slice(merged, window_start, 2**62)
        self._fetched_ms[symbol] = asked

    async def _read_coarse(self, exchange: Any, symbol: str, timeframe: str) -> None:
        rows = await exchange.fetch_ohlcv(symbol, timeframe, limit=self.coarse_limit)
        self._coarse[(symbol, timeframe)] = (time.monotonic(), _series(symbol, timeframe, rows))


def _wall_ms() -> int:
    return int(time.time() * 1000)


def _valid(timeframe: str) -> bool:
    try:
        timeframe_ms(timeframe)
    except (ValueError, KeyError):
        return False
    return True


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return f"{type(error).__name__}: {text[:200]}" if not isinstance(error, FeedUnreachable) else text


def _series(symbol: str, timeframe: str, rows: list[list[Any]]) -> CandleSeries:
    by_ts = {int(r[0]): r for r in rows if r[1] is not None}
    ordered = [by_ts[k] for k in sorted(by_ts)]
    if not ordered:
        return CandleSeries(symbol, timeframe, *_empty())
    arr = np.asarray([[float(v or 0.0) for v in r[1:6]] for r in ordered], dtype=np.float64)
    ts = np.asarray([int(r[0]) for r in ordered], dtype=np.int64)
    return CandleSeries(symbol, timeframe, ts, arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4])


def _merge(held: CandleSeries, fresh: CandleSeries) -> CandleSeries:
    """`held` with `fresh` replacing it from fresh's first candle on."""
    if len(fresh) == 0:
        return held
    return _concat(held.symbol, held.timeframe, _slice(held, 0, int(fresh.ts[0])), fresh)


def _concat(symbol: str, timeframe: str, a: CandleSeries, b: CandleSeries) -> CandleSeries:
    cols = ("ts", "open", "high", "low", "close", "volume")
    ts, o, h, lo, c, v = (np.concatenate((getattr(a, k), getattr(b, k))) for k in cols)
    return CandleSeries(symbol, timeframe, ts.astype(np.int64), o, h, lo, c, v)
