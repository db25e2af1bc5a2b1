"""`CcxtExchangeClient`: the one generic `qari.ports.ExchangeClient` over unmodified `ccxt.async_support`.

Secret handling (PRODUCT.md R8, issue #4 item 6): the client never holds a plaintext secret between
calls. It keeps a *public* ccxt instance (no credentials) for markets, tickers, books and candles,
and a `CredentialsSource` — an async callable that decrypts the stored key on demand. Every private
operation (balances, orders, fills, key checks) runs inside `_signed()`: it asks the source for the
credentials, makes a per-call ccxt instance (a clone of the client's public instance: same HTTP
session, markets, measured clock offset and rate-limit budget, its own option and state containers),
runs the one call (ccxt signs synchronously inside it), and in `finally` blanks `apiKey`/`secret`/
`password` on that instance and drops every reference. Python strings cannot be wiped from memory, so
"only inside the call that signs" means: no object that outlives the call refers to the plaintext.

Cost (benchmarks/cycle.py): the ccxt instances are clones of a per-process template
(`ccxt_instances.py`, ~0.1 ms instead of 3-9 ms to construct one). A `CcxtVenue` is the public side of
one exchange shared by all the clients of a process (one HTTP connection pool, markets loaded once and
reused until `markets_max_age`); signed calls take their rate-limit budget from the process's one
budget per exchange + key, public calls from its one budget per exchange + egress IP
(`throttle.RequestBudgets`).

ccxt's start-up calls QARI does not need are off (`capabilities.ccxt_options`, `has['fetchCurrencies']`),
and `adjustForTimeDifference` measures the venue's clock; a clock-skew rejection of a read triggers one
resync and one retry. Reads are retried on transient failures; `create_order` never is: a timeout
there raises `OutcomeUnknownError` and the caller looks the order up by client id.

Why one file of ~650 lines: it is one class implementing the whole `ExchangeClient` port (balances,
orders, stops, fills, market data, key checks) over one signing path (`_signed`), one retry policy and
one error translation, plus `CcxtVenue`, the public half its clients share. How the ccxt instances are
made is `ccxt_instances.py`; the venue-specific parsing, `parse.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.async_support as ccxt

from qari.adapters.exchanges import parse
from qari.adapters.exchanges.capabilities import ExchangeCapabilities, capabilities_for
from qari.adapters.exchanges.ccxt_instances import clear_credentials, clone_ccxt, public_budget, public_ccxt
from qari.adapters.exchanges.errors import translate
from qari.adapters.exchanges.throttle import (
    BUDGETS,
    RequestBudgets,
    key_scope,
)
from qari.core.errors import (
    ClockSkewError,
    ExchangeUnavailableError,
    FatalError,
    OrderNotFoundError,
    OutcomeUnknownError,
    QariError,
)
from qari.core.instrument import InstrumentRules
from qari.core.market import OrderBook, Ticker
from qari.core.orders import (
    Balance,
    Fill,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SpotStopKind,
)
from qari.core.time import Clock, to_ms

T = TypeVar("T")

READ_ATTEMPTS = 3


class Credentials:
    """An API key triple. `repr`/`str` show only the last 4 characters of the key id."""

    __slots__ = ("api_key", "passphrase", "secret")

    def __init__(self, api_key: str, secret: str, passphrase: str | None = None) -> None:
        self.api_key = api_key
        self.secret = secret
        self.passphrase = passphrase

    @property
    def key_hint(self) -> str:
        return self.api_key[-4:]

    def values(self) -> tuple[str, ...]:
        return tuple(v for v in (self.api_key, self.secret, self.passphrase) if v)

    def __repr__(self) -> str:
        return f"Credentials(api_key='…{self.key_hint}', secret=<hidden>)"

    __str__ = __repr__


CredentialsSource = Callable[[], Awaitable[Credentials]]


class CcxtVenue:
    """The public side of one exchange, shared by every `CcxtExchangeClient` of a process that is given
    it: one credential-free ccxt instance with one HTTP connection pool, and the markets loaded once and
    reused by all (reloaded when older than `markets_max_age` seconds, i.e. about once per cycle)."""

    def __init__(
        self,
        exchange: str | ExchangeCapabilities,
        *,
        base_url: str | None = None,
        timeout_ms: int = 10_000,
        rate_limit: bool = True,
        markets_max_age: float = 300.0,
        clock: Clock | None = None,
        budgets: RequestBudgets = BUDGETS,
    ) -> None:
        """`clock`: the time on the venue, where it is not the real time (the sandbox's replay: a fill
        history walked window by window up to "now" must stop at the venue's now, not years later)."""
        self.caps = capabilities_for(exchange) if isinstance(exchange, str) else exchange
        self.exchange_id = self.caps.id
        self.clock = clock
        self.base_url = base_url
        self.timeout_ms = timeout_ms
        self.rate_limit = rate_limit
        self.markets_max_age = markets_max_age
        self.budgets = budgets
        self._public: ccxt.Exchange | None = None
        self._lock = asyncio.Lock()
        self._rules: dict[str, InstrumentRules] | None = None
        self._loaded_at = 0.0

    @property
    def public(self) -> ccxt.Exchange:
        if self._public is None:
            self._public = public_ccxt(
                self.caps,
                base_url=self.base_url,
                timeout_ms=self.timeout_ms,
                rate_limit=self.rate_limit,
                budgets=self.budgets,
            )
        return self._public

    def client_instance(self) -> ccxt.Exchange:
        """A credential-free instance for one client: this venue's markets and public budget
        (`public_budget`); `attach` gives it the session, `_signed` calls the key's budget."""
        exchange = clone_ccxt(self.public)
        exchange.enableRateLimit = self.rate_limit
        public_budget(exchange, self.base_url, self.budgets)
        return exchange

    def attach(self, exchange: ccxt.Exchange) -> ccxt.Exchange:
        """Give a client instance this venue's open HTTP session (opened here on first use)."""
        public = self.public
        if public.session is None:
            public.open()
        if exchange.session is not public.session:
            exchange.session = public.session
            exchange.asyncio_loop = public.asyncio_loop
            exchange.throttler.loop = public.asyncio_loop
        return exchange

    def _stale(self) -> bool:
        return self._rules is None or time.monotonic() - self._loaded_at > self.markets_max_age

    async def load_markets(
        self, read: Callable[[ccxt.Exchange, bool], Awaitable[dict[str, Any]]]
    ) -> dict[str, InstrumentRules]:
        """The venue's spot markets, loaded with `read(public, reload)` (the caller's retrying,
        error-translating call) at most once per `markets_max_age` for every client together."""
        async with self._lock:
            if self._stale():
                public = self.public
                markets = await read(public, self._rules is not None)
                mode = int(public.precisionMode)
                self._rules = {
                    symbol: parse.instrument_from_ccxt(market, mode)
                    for symbol, market in markets.items()
                    if market.get("spot")
                }
                self._loaded_at = time.monotonic()
            assert self._rules is not None
            return self._rules

    def share_markets(self, exchange: ccxt.Exchange) -> None:
        """Point `exchange` at the loaded markets, with the clock offset measured when they were loaded."""
        public = self.public
        if public.markets is not None and exchange.markets is not public.markets:
            exchange.set_markets_from_exchange(public)
            if "timeDifference" in public.options:
                exchange.options["timeDifference"] = public.options["timeDifference"]

    async def close(self) -> None:
        if self._public is not None:
            await self._public.close()
            self._public = None


async def _trades_in(
    symbol: str, start_ms: int, end_ms: int, exchange: ccxt.Exchange, _secrets: tuple[str, ...]
) -> list[dict[str, Any]]:
    """One window of the account's trades (`until`: ccxt's unified end of the window)."""
    trades: list[dict[str, Any]] = await exchange.fetch_my_trades(symbol, start_ms, None, {"until": end_ms})
    return trades


class CcxtExchangeClient:
    """`ExchangeClient` for one user's connection on one venue (or public-only when no credentials).

    With `venue`, the client shares that venue's HTTP session and markets with the process's other
    clients (the engine's way); without, it has a venue of its own, closed with it."""

    def __init__(
        self,
        exchange: str | ExchangeCapabilities,
        credentials: CredentialsSource | None = None,
        *,
        base_url: str | None = None,
        timeout_ms: int = 10_000,
        rate_limit: bool = True,
        venue: CcxtVenue | None = None,
        budgets: RequestBudgets = BUDGETS,
    ) -> None:
        """`rate_limit=False` only for a handful of calls (a key check): ccxt's per-endpoint costs would
        otherwise make e.g. Bitget's key-info call hold the next request back for a second. Its calls
        are still counted against the key's shared budget (`budgets`), without waiting."""
        self.caps = capabilities_for(exchange) if isinstance(exchange, str) else exchange
        self.exchange_id = self.caps.id
        self._credentials = credentials
        if venue is not None and venue.caps.id != self.caps.id:
            raise FatalError(f"a {venue.caps.id} venue cannot serve a {self.caps.id} client")
        self._owns_venue = venue is None
        self._venue = venue or CcxtVenue(
            self.caps,
            base_url=base_url,
            timeout_ms=timeout_ms,
            rate_limit=rate_limit,
            markets_max_age=float("inf"),  # a client of its own loads the markets once in its life
            budgets=budgets,
        )
        self._public: ccxt.Exchange | None = None
        self._budgets = budgets

    # -- plumbing -----------------------------------------------------------------------------------------

    @property
    def venue(self) -> CcxtVenue:
        return self._venue

    @property
    def public(self) -> ccxt.Exchange:
        """This client's credential-free ccxt instance (its own rate limiter, the venue's session)."""
        if self._public is None:
            self._public = self._venue.client_instance()
        return self._public

    def _connected(self) -> ccxt.Exchange:
        return self._venue.attach(self.public)

    async def close(self) -> None:
        public, self._public = self._public, None
        if public is not None:
            public.session = None  # borrowed from the venue: dropping it closes nothing shared
        if self._owns_venue:
            await self._venue.close()

    async def __aenter__(self) -> CcxtExchangeClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @asynccontextmanager
    async def _signed(self) -> AsyncIterator[tuple[ccxt.Exchange, tuple[str, ...]]]:
        """A ccxt instance holding the decrypted key for exactly one operation (see module docstring)."""
        if self._credentials is None:
            raise FatalError(f"{self.exchange_id}: this client has no API key (public data only)")
        public = self._connected()
        exchange = clone_ccxt(public)  # shares the markets and rate limiter; own options and state
        if exchange.markets is None:
            exchange.set_markets({})  # balance reads must not trigger a market load
        try:
            exchange.session = public.session
            credentials = await self._credentials()
            secrets = credentials.values()
            # The key's budget, shared with every client of the process using it (throttle.py).
            scope = key_scope(credentials.api_key)
            if self._venue.rate_limit:
                exchange.throttler = self._budgets.throttler(exchange, scope)
            else:
                exchange.enableRateLimit = True
                exchange.throttler = self._budgets.charger(exchange, scope)
            exchange.apiKey = credentials.api_key
            exchange.secret = credentials.secret
            exchange.password = credentials.passphrase or ""
            del credentials
            await self._account_mode(public, exchange, secrets)
            yield exchange, secrets
        finally:
            clear_credentials(exchange)
            exchange.session = None  # borrowed: dropping it closes nothing shared

    async def _account_mode(
        self, public: ccxt.Exchange, exchange: ccxt.Exchange, secrets: tuple[str, ...]
    ) -> None:
        """Run the venue's account-mode probe once for this key (`caps.account_mode_probe`) and keep
        the option it sets on this client's instance, which every later signed call is cloned from."""
        if self.caps.account_mode_probe is None:
            return
        method, option = self.caps.account_mode_probe
        if exchange.options.get(option) is not None:  # known: cloned from `public`
            return
        await self._call(exchange, secrets, lambda: getattr(exchange, method)())
        public.options[option] = exchange.options.get(option)

    async def _call(
        self, exchange: ccxt.Exchange, secrets: tuple[str, ...], fn: Callable[[], Awaitable[T]]
    ) -> T:
        try:
            return await fn()
        except QariError:
            raise
        except (TimeoutError, ccxt.BaseError, OSError) as e:
            body = getattr(exchange, "last_http_response", None)
            raise translate(self.exchange_id, e, body, secrets=secrets, protocol=self.caps.ccxt_id) from None

    async def _read(
        self, fn: Callable[[ccxt.Exchange, tuple[str, ...]], Awaitable[T]], *, private: bool
    ) -> T:
        """Run a read with retries: clock skew → resync once; transient failures → back off."""
        resynced = False
        for attempt in range(READ_ATTEMPTS):
            try:
                if private:
                    async with self._signed() as (exchange, secrets):
                        return await self._call(exchange, secrets, lambda: fn(exchange, secrets))
                return await self._public_call(fn)
            except ClockSkewError:
                if resynced:
                    raise
                resynced = True
                await self.sync_time()
            except ExchangeUnavailableError:
                if attempt == READ_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        raise ExchangeUnavailableError(f"{self.exchange_id}: no answer after {READ_ATTEMPTS} attempts")

    async def _public_call(self, fn: Callable[[ccxt.Exchange, tuple[str, ...]], Awaitable[T]]) -> T:
        public = self._connected()
        return await self._call(public, (), lambda: fn(public, ()))

    async def _read_on(self, exchange: ccxt.Exchange, fn: Callable[[], Awaitable[T]]) -> T:
        """A public read on a given instance (the shared venue's), with `_read`'s retries."""
        for attempt in range(READ_ATTEMPTS):
            try:
                return await self._call(exchange, (), fn)
            except ExchangeUnavailableError:
                if attempt == READ_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        raise ExchangeUnavailableError(f"{self.exchange_id}: no answer after {READ_ATTEMPTS} attempts")

    async def sync_time(self) -> int:
        """Measure the venue's clock offset (ms, local - server); signed calls subtract it."""
        public = self._connected()
        return int(await self._call(public, (), lambda: public.load_time_difference()))

    # -- market data --------------------------------------------------------------------------------------

    async def load_markets(self) -> dict[str, InstrumentRules]:
        async def read(public: ccxt.Exchange, reload: bool) -> dict[str, Any]:
            self._venue.attach(public)
            markets: dict[str, Any] = await self._read_on(public, lambda: public.load_markets(reload))
            return markets

        rules = await self._venue.load_markets(read)
        self._venue.share_markets(self.public)
        return rules

    async def fetch_ticker(self, symbol: str) -> Ticker:
        await self.load_markets()
        raw = await self._read(lambda ex, _s: ex.fetch_ticker(symbol), private=False)
        return parse.ticker_from_ccxt(symbol, raw)

    async def fetch_tickers(self) -> dict[str, Ticker]:
        rules = await self.load_markets()
        raw = await self._read(lambda ex, _s: ex.fetch_tickers(), private=False)
        return {s: parse.ticker_from_ccxt(s, t) for s, t in raw.items() if s in rules}

    async def fetch_order_book(self, symbol: str, limit: int = 50) -> OrderBook:
        await self.load_markets()
        raw = await self._read(lambda ex, _s: ex.fetch_order_book(symbol, limit), private=False)
        return parse.order_book_from_ccxt(symbol, raw)

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        await self.load_markets()
        rows = await self._read(
            lambda ex, _s: ex.fetch_ohlcv(symbol, timeframe, since_ms, limit), private=False
        )
        return [[float(v) for v in row[:6]] for row in rows]

    # -- account ------------------------------------------------------------------------------------------

    async def fetch_balances(self) -> dict[str, Balance]:
        raw = await self._read(lambda ex, _s: ex.fetch_balance(), private=True)
        return parse.balances_from_ccxt(raw)

    async def fetch_open_orders(
        self, symbol: str | None = None, *, stop_orders: bool = True
    ) -> list[OrderReport]:
        """Open orders; where the venue lists conditional (stop) orders apart, they take a second read,
        skipped with `stop_orders=False`."""
        await self.load_markets()

        async def fetch(ex: ccxt.Exchange, _s: tuple[str, ...]) -> list[dict[str, Any]]:
            orders: list[dict[str, Any]] = list(await ex.fetch_open_orders(symbol))
            if stop_orders and self.caps.stop_orders_separate and self.caps.spot_stop_market:
                seen = {o.get("id") for o in orders}
                stops = await ex.fetch_open_orders(symbol, None, None, dict(self.caps.stop_list_params))
                orders.extend(o for o in stops if o.get("id") not in seen)
            return orders

        raw = await self._read(fetch, private=True)
        return [self._report(o, symbol) for o in raw]

    def _report(self, raw: dict[str, Any], symbol: str | None) -> OrderReport:
        """A venue order as QARI sees it: its client id as QARI built it (the venue's prefix taken off)."""
        report = parse.order_from_ccxt(raw, fallback_symbol=symbol)
        reported = report.client_order_id
        if not reported and self.caps.stop_client_id_field:
            reported = (raw.get("info") or {}).get(self.caps.stop_client_id_field) or None
        cid = self.caps.client_ids.from_venue(reported)
        return report if cid == report.client_order_id else dataclasses.replace(report, client_order_id=cid)

    async def fetch_order_by_client_id(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """Looks among open (plain and conditional), then finished orders, canceled ones included (an
        order is found by its client id after a cancel too); None if nowhere.

        Finished orders are read the way ccxt's `has` says the venue lists them: filled and canceled
        together where it can (Bybit, Binance, Bitget), else filled first and canceled only if needed
        (OKX, MEXC, HTX); Gate's and KuCoin's finished lists hold both already."""
        for order in await self.fetch_open_orders(symbol):
            if order.client_order_id == client_order_id:
                return order
        reads = self._finished_reads()
        conditional = self.caps.stop_orders_separate and self.caps.spot_stop_market
        for name in reads:

            async def finished(
                ex: ccxt.Exchange, _s: tuple[str, ...], name: str = name
            ) -> list[dict[str, Any]]:
                found: list[dict[str, Any]] = list(await getattr(ex, name)(symbol, None, 50))
                if conditional:
                    found.extend(await getattr(ex, name)(symbol, None, 50, dict(self.caps.stop_list_params)))
                return found

            for raw in await self._read(finished, private=True):
                report = self._report(raw, symbol)
                if report.client_order_id == client_order_id:
                    return await self._completed(report, raw)
        return None

    def _finished_reads(self) -> list[str]:
        """ccxt's reads of finished orders, in the order to try them (by ccxt's `has`)."""
        has = self.public.has
        if has.get("fetchCanceledAndClosedOrders"):
            return ["fetch_canceled_and_closed_orders"]
        return ["fetch_closed_orders"] + (["fetch_canceled_orders"] if has.get("fetchCanceledOrders") else [])

    async def _completed(self, report: OrderReport, raw: dict[str, Any]) -> OrderReport:
        """A finished order as it really ended: a triggered stop followed to the order that sold
        (`caps.stop_follow`), and the fee read from the trades where order queries carry none."""
        if report.type is OrderType.STOP_MARKET and report.status is OrderStatus.FILLED:
            report = await self._follow_stop(report, raw)
        if self.caps.fees_from_trades and report.filled_base > 0 and not report.fee:
            report = await self._fee_from_trades(report)
        return report

    async def _follow_stop(self, stop: OrderReport, raw: dict[str, Any]) -> OrderReport:
        follow = self.caps.stop_follow
        if follow.kind == "none":
            return stop
        symbol = stop.symbol
        found: dict[str, Any] | None = None
        if follow.kind == "id_field":
            info = raw.get("info") or {}
            follow_id = str(info.get(follow.field) or "")
            if follow_id not in follow.unset:
                with contextlib.suppress(OrderNotFoundError):  # fired, not readable yet: as unset
                    found = await self._read(lambda ex, _s: ex.fetch_order(follow_id, symbol), private=True)
        else:

            async def by_client_id(ex: ccxt.Exchange, _s: tuple[str, ...]) -> dict[str, Any] | None:
                finished = self._finished_reads()[0]  # canceled too: a partly filled, then canceled sell
                reads = (
                    lambda: getattr(ex, finished)(symbol, None, 50),
                    lambda: ex.fetch_open_orders(symbol),
                )
                for read in reads:
                    for order in await read():
                        if order.get("clientOrderId") == stop.exchange_order_id:
                            return dict(order)
                return None

            found = await self._read(by_client_id, private=True)
        if found is None:
            # Fired, but the order it fired is not readable yet: not filled as far as QARI can book.
            return replace(stop, status=OrderStatus.OPEN, filled_base=Decimal(0), avg_price=None)
        sold = parse.order_from_ccxt(found, fallback_symbol=symbol)
        return replace(
            stop,
            exchange_order_id=sold.exchange_order_id,
            status=sold.status,
            filled_base=sold.filled_base,
            avg_price=sold.avg_price,
            fee=sold.fee,
            fee_currency=sold.fee_currency,
            updated_ms=sold.updated_ms or stop.updated_ms,
        )

    async def _fee_from_trades(self, report: OrderReport) -> OrderReport:
        order_id = report.exchange_order_id
        trades = await self._read(
            lambda ex, _s: ex.fetch_my_trades(report.symbol, None, None, {"orderId": order_id}),
            private=True,
        )
        fills = [parse.fill_from_ccxt(t) for t in trades]
        mine = [f for f in fills if f.exchange_order_id == order_id]
        if not mine:
            return report
        return replace(report, fee=sum((f.fee for f in mine), Decimal(0)), fee_currency=mine[0].fee_currency)

    async def fetch_fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]:
        """Fills since `since_ms`; where one query covers at most `caps.fills_window_ms`, window by window
        up to now (one query from an old `since` would stop a window later and miss the rest)."""
        await self.load_markets()
        window = self.caps.fills_window_ms
        clock = self._venue.clock
        now_ms = to_ms(clock.now()) if clock is not None else int(time.time() * 1000)
        fills: dict[str, Fill] = {}
        if window is None or since_ms is None or now_ms - since_ms <= window:
            raw = await self._read(lambda ex, _s: ex.fetch_my_trades(symbol, since_ms), private=True)
            fills = {str(i): parse.fill_from_ccxt(t) for i, t in enumerate(raw)}
        else:
            start = since_ms
            while start <= now_ms:
                end = min(start + window - 1, now_ms)
                page = await self._read(functools.partial(_trades_in, symbol, start, end), private=True)
                for t in page:
                    fill = parse.fill_from_ccxt(t)
                    fills.setdefault(fill.trade_id, fill)
                start = end + 1
        from_venue = self.caps.client_ids.from_venue
        return sorted(
            (dataclasses.replace(f, client_order_id=from_venue(f.client_order_id)) for f in fills.values()),
            key=lambda f: f.ts_ms,
        )

    # -- orders -------------------------------------------------------------------------------------------

    def order_arguments(self, request: OrderRequest) -> tuple[str, float | None, dict[str, Any]]:
        """ccxt `create_order` type, price and params for a QARI order (spot only: R1)."""
        try:
            self.caps.client_ids.check(request.client_order_id)
        except ValueError as e:  # the venue would refuse it: never send
            raise FatalError(f"{self.caps.name}: {e}") from None
        params: dict[str, Any] = {"clientOrderId": request.client_order_id}
        if request.type is OrderType.LIMIT:
            if request.price is None:
                raise FatalError("a limit order needs a price")
            return "limit", float(request.price), params
        if request.type is OrderType.STOP_MARKET:
            if request.trigger_price is None or request.side is not Side.SELL:
                raise FatalError("a spot stop-market order is a sell with a trigger price")
            if self.caps.spot_stop is SpotStopKind.NONE:
                raise FatalError(f"{self.caps.name} has no spot stop orders; the engine watches the stop")
            params["triggerPrice"] = float(request.trigger_price)
            if self.caps.stop_client_id_field:  # OKX: ccxt sends `clOrdId`, the algo's own is `algoClOrdId`
                params[self.caps.stop_client_id_field] = request.client_order_id
            if self.caps.spot_stop is SpotStopKind.STOP_LIMIT:
                limit = request.trigger_price * (1 - self.caps.stop_limit_offset)  # ccxt rounds to tick
                return "limit", float(limit), params
            return "market", None, params
        if request.side is Side.BUY and self.caps.market_buy_sized_in == "quote":
            # The venue buys for a quote cost: ccxt computes it as qty x price, so a reference price
            # is required (QARI's market orders are sells; a market buy must say what it may cost).
            if request.price is None:
                raise FatalError(f"{self.caps.name} sizes market buys in quote: a reference price is needed")
            return "market", float(request.price), params
        return "market", None, params

    async def create_order(self, request: OrderRequest) -> OrderReport:
        rules = await self.load_markets()
        if request.symbol not in rules:
            raise FatalError(f"{request.symbol} is not a spot market on {self.caps.name}")
        order_type, price, params = self.order_arguments(request)
        async with self._signed() as (exchange, secrets):
            try:
                raw = await exchange.create_order(
                    request.symbol, order_type, request.side.value, float(request.qty_base), price, params
                )
            except (TimeoutError, ccxt.RequestTimeout) as e:
                raise OutcomeUnknownError(
                    f"{self.exchange_id}: {request.client_order_id} unanswered: look it up, do not resend"
                ) from e
            except ccxt.BaseError as e:
                error = translate(
                    self.exchange_id,
                    e,
                    exchange.last_http_response,
                    secrets=secrets,
                    protocol=self.caps.ccxt_id,
                )
                if isinstance(error, ExchangeUnavailableError) and isinstance(e, ccxt.NetworkError):
                    raise OutcomeUnknownError(str(error), code=error.code) from None
                raise error from None
        report = self._report(raw, request.symbol)
        return OrderReport(
            symbol=request.symbol,
            exchange_order_id=report.exchange_order_id,
            client_order_id=report.client_order_id or request.client_order_id,
            side=request.side,
            type=request.type,
            status=report.status,
            qty_base=request.qty_base,
            filled_base=report.filled_base,
            avg_price=report.avg_price,
            price=request.price,
            trigger_price=request.trigger_price,
            fee=report.fee,
            fee_currency=report.fee_currency,
            updated_ms=report.updated_ms,
        )

    async def cancel_order(self, symbol: str, exchange_order_id: str) -> None:
        """Cancels a plain or a conditional (stop) order; an order already gone raises OrderNotFoundError."""
        await self.load_markets()

        async def cancel(ex: ccxt.Exchange, secrets: tuple[str, ...]) -> None:
            try:
                await ex.cancel_order(exchange_order_id, symbol)
            except ccxt.BaseError as e:
                error = translate(
                    self.exchange_id, e, ex.last_http_response, secrets=secrets, protocol=self.caps.ccxt_id
                )
                if not (isinstance(error, OrderNotFoundError) and self.caps.stop_orders_separate):
                    raise error from None
                await ex.cancel_order(exchange_order_id, symbol, {"trigger": True})

        await self._read(cancel, private=True)

    # -- signed one-offs --------------------------------------------------------------------------------

    async def run_signed(self, operation: Callable[[ccxt.Exchange], Awaitable[T]]) -> T:
        """Run a short sequence of signed calls (key probes) on one instance; errors come out translated."""
        async with self._signed() as (exchange, secrets):
            return await self._call(exchange, secrets, lambda: operation(exchange))
