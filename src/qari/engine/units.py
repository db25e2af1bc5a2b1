"""The per-user unit of work: one user's gate and orders on one exchange, from the shared scan.

`ExecutionUnits` is the engine's `UserExecutor`: for each unit it opens that user's exchange client,
loads the user's trading profile, reconciles once per cycle, then hands every candidate of the scan
to `qari.engine.execution.UserExecution` (gate → sizing → orders) and reports each gate outcome.
Management (exits, stops, expiries) runs the same way on the management cadence.

A unit needs only its `UserUnit` and the scan, both plain data, so a distributed worker could run it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from typing import Protocol, overload

import numpy as np

from qari.analysis.verdict import Verdict
from qari.analysis.weights import WeightSet
from qari.core.instrument import InstrumentRules
from qari.core.market import OrderBook, Ticker
from qari.core.orders import Balance, Fill, OrderReport, OrderRequest
from qari.core.time import last_closed_open_ms, to_ms
from qari.decisions import personal_scoring
from qari.engine.execution import ExecutionConfig, UserExecution
from qari.engine.gate_facts import JournalFacts, read_journal_facts
from qari.engine.guard import OrderGuard
from qari.engine.metrics import EngineMetrics
from qari.engine.reconciliation import reconcile
from qari.ports import (
    Clock,
    EntryLock,
    ExchangeClient,
    ExchangeScan,
    GateOutcome,
    ProfileSource,
    TradingStore,
    UserOutcome,
    UserUnit,
)
from qari.risk.profile import TradingProfile
from qari.trading.records import PositionRecord

log = logging.getLogger("qari.engine.units")

CORRELATION_DAYS = 31
PERSONAL_PLAN = "premium"  # the plan tier (services/plans.TIERS) whose users score with their own weights
PersonalWeights = Callable[[TradingProfile], Awaitable[WeightSet]]


class ClientSource(Protocol):
    """A user's exchange client for the length of one unit (keys decrypted only inside it)."""

    def client(self, unit: UserUnit) -> AbstractAsyncContextManager[ExchangeClient]: ...


class DailyCloses(Mapping[str, tuple[float, ...]]):
    """Closed daily closes per symbol from the shared snapshots (correlation check, no per-user fetch),
    each cut when first asked for: a gate reads the candidate's and the open positions' only."""

    def __init__(self, scan: ExchangeScan) -> None:
        self._snapshots = scan.snapshots
        self._cut = last_closed_open_ms(to_ms(scan.at), "1d")
        self._cache: dict[str, tuple[float, ...]] = {}

    def __getitem__(self, symbol: str) -> tuple[float, ...]:
        closes = self._cache.get(symbol)
        if closes is None:
            snapshot = self._snapshots.get(symbol)
            series = None if snapshot is None else snapshot.series.get("1d")
            if series is None:
                raise KeyError(symbol)
            n = int(np.searchsorted(series.ts, self._cut, side="right"))
            closes = self._cache[symbol] = tuple(series.close[max(0, n - CORRELATION_DAYS) : n].tolist())
        return closes

    def __iter__(self) -> Iterator[str]:
        return (s for s, snapshot in self._snapshots.items() if "1d" in snapshot.series)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def daily_closes(scan: ExchangeScan) -> Mapping[str, tuple[float, ...]]:
    """Closed daily closes per symbol from the shared snapshots (cut lazily: `DailyCloses`)."""
    return DailyCloses(scan)


class LayerDicts(Sequence[dict[str, object]]):
    """A verdict's layer results as the position records them, made when first read: only a gate
    that passes reads them (most candidates are blocked)."""

    def __init__(self, verdict: Verdict) -> None:
        self._layers = verdict.layers
        self._dicts: list[dict[str, object]] | None = None

    def _made(self) -> list[dict[str, object]]:
        if self._dicts is None:
            self._dicts = [r.to_dict() for r in self._layers]
        return self._dicts

    @overload
    def __getitem__(self, index: int) -> dict[str, object]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[dict[str, object]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, object] | Sequence[dict[str, object]]:
        return self._made()[index]

    def __len__(self) -> int:
        return len(self._layers)


def layer_dicts(verdict: Verdict) -> Sequence[dict[str, object]]:
    return LayerDicts(verdict)


TICKER_MAX_AGE = 2.0  # seconds a ticker read for one user's gate serves the other users of the cycle


class TickerCache:
    """Tickers shared by all users of an exchange within one cycle: at most one venue read per symbol
    per `max_age` seconds, concurrent askers waiting for the same read. Keyed by the cycle's time too,
    so a new cycle (also in a stepped replay, where little wall time passes) never sees an old price."""

    def __init__(self, max_age: float = TICKER_MAX_AGE) -> None:
        self.max_age = max_age
        self._entries: dict[tuple[str, str], tuple[dt.datetime, float, asyncio.Task[Ticker]]] = {}

    async def get(
        self, exchange_id: str, symbol: str, at: dt.datetime, fetch: Callable[[], Awaitable[Ticker]]
    ) -> Ticker:
        key = (exchange_id, symbol)
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is None or entry[0] != at or now - entry[1] > self.max_age:
            # Its own task: one asker's timeout or cancellation does not cancel the others' read.
            task = asyncio.ensure_future(fetch())
            entry = self._entries[key] = (at, now, task)

            def forget_failure(done: asyncio.Task[Ticker], key: tuple[str, str] = key) -> None:
                failed = done.cancelled() or done.exception() is not None
                if failed and self._entries.get(key, (None, None, None))[2] is done:
                    del self._entries[key]  # a failed read is not served to later askers

            task.add_done_callback(forget_failure)
        return await asyncio.shield(entry[2])


class UnitClient:
    """A user's exchange client as one entry unit sees it. Tickers come from the cycle's shared
    `TickerCache`; the balance is read once for consecutive gate evaluations and read again after any
    other venue call (orders sent, cancelled or looked up), so sizing always sees this unit's own
    orders. Everything else passes straight through."""

    def __init__(self, client: ExchangeClient, tickers: TickerCache, at: dt.datetime) -> None:
        self.client = client
        self.exchange_id = client.exchange_id
        self._tickers = tickers
        self._at = at
        self._balances: dict[str, Balance] | None = None

    async def load_markets(self) -> dict[str, InstrumentRules]:
        return await self.client.load_markets()

    async def fetch_balances(self) -> dict[str, Balance]:
        if self._balances is None:
            self._balances = await self.client.fetch_balances()
        return dict(self._balances)

    async def fetch_ticker(self, symbol: str) -> Ticker:
        return await self._tickers.get(
            self.exchange_id, symbol, self._at, lambda: self.client.fetch_ticker(symbol)
        )

    async def fetch_tickers(self) -> dict[str, Ticker]:
        return await self.client.fetch_tickers()

    async def fetch_order_book(self, symbol: str, limit: int = 50) -> OrderBook:
        return await self.client.fetch_order_book(symbol, limit)

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        return await self.client.fetch_ohlcv(symbol, timeframe, since_ms, limit)

    async def create_order(self, request: OrderRequest) -> OrderReport:
        self._balances = None
        try:
            return await self.client.create_order(request)
        finally:
            self._balances = None

    async def cancel_order(self, symbol: str, exchange_order_id: str) -> None:
        self._balances = None
        try:
            await self.client.cancel_order(symbol, exchange_order_id)
        finally:
            self._balances = None

    async def fetch_order_by_client_id(self, symbol: str, client_order_id: str) -> OrderReport | None:
        self._balances = None
        return await self.client.fetch_order_by_client_id(symbol, client_order_id)

    async def fetch_open_orders(
        self, symbol: str | None = None, *, stop_orders: bool = True
    ) -> list[OrderReport]:
        self._balances = None
        return await self.client.fetch_open_orders(symbol, stop_orders=stop_orders)

    async def fetch_fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]:
        self._balances = None
        return await self.client.fetch_fills(symbol, since_ms)

    async def close(self) -> None:
        return None  # the client belongs to the unit's `ClientSource`


class HeldLocks:
    """The unit's entry locks (gate check G10), taken once for all its candidates with
    `EntryLock.hold_many`: `hold` answers whether this unit holds the user+symbol lock."""

    def __init__(self, held: frozenset[str]) -> None:
        self.held = held

    @asynccontextmanager
    async def hold(self, user_id: int, symbol: str) -> AsyncIterator[bool]:
        yield symbol in self.held

    @asynccontextmanager
    async def hold_many(self, user_id: int, symbols: Iterable[str]) -> AsyncIterator[frozenset[str]]:
        yield frozenset(s for s in symbols if s in self.held)


class ExecutionUnits:
    def __init__(
        self,
        *,
        clients: ClientSource,
        profiles: ProfileSource,
        store: TradingStore,
        locks: EntryLock,
        clock: Clock,
        config: ExecutionConfig | None = None,
        metrics: EngineMetrics | None = None,
        reconcile_every: dt.timedelta = dt.timedelta(minutes=5),
        guard: OrderGuard | None = None,
        personal: PersonalWeights | None = None,
    ) -> None:
        self.personal = personal  # Premium users' own weights (None: everyone scores collectively)
        self.clients = clients
        self.profiles = profiles
        self.store = store
        self.locks = locks
        self.clock = clock
        self.config = config or ExecutionConfig()
        self.metrics = metrics or EngineMetrics()
        self.reconcile_every = reconcile_every
        self._reconciled: dict[UserUnit, dt.datetime] = {}
        self._markets: dict[str, Mapping[str, InstrumentRules]] = {}
        self.tickers = TickerCache()
        self.guard = guard or OrderGuard()  # one for all units: halts and day caps span them

    def _execution(self, exchange: ExchangeClient, locks: EntryLock | None = None) -> UserExecution:
        return UserExecution(
            exchange, self.store, locks or self.locks, self.clock, self.config, guard=self.guard
        )

    async def _markets_for(self, unit: UserUnit, exchange: ExchangeClient) -> Mapping[str, InstrumentRules]:
        markets = self._markets.get(unit.exchange_id)
        if markets is None:
            markets = self._markets[unit.exchange_id] = await exchange.load_markets()
        return markets

    async def enter(self, unit: UserUnit, scan: ExchangeScan) -> UserOutcome:
        candidates = scan.candidates()
        if not candidates:
            return UserOutcome()  # nothing to gate: no venue call at all
        outcomes: list[GateOutcome] = []
        sent = 0
        profile = await self.profiles.profile(unit.user_id, unit.exchange_id, self.clock.now())
        async with (
            self.clients.client(unit) as client,
            self.locks.hold_many(unit.user_id, [v.symbol for v in candidates]) as held,
            self.store.deferred_writes(),  # blocked gates and venue answers: with the unit's next commit
        ):
            exchange = UnitClient(client, self.tickers, scan.at)
            execution = self._execution(exchange, HeldLocks(held))
            markets = await self._markets_for(unit, exchange)
            closes = daily_closes(scan)
            symbols = [v.symbol for v in candidates]
            journal: JournalFacts | None = None  # read once, and again only where the unit changed it
            own = await self.personal(profile) if self.personal and profile.plan == PERSONAL_PLAN else None
            for verdict in candidates:
                candidate = verdict.candidate
                if candidate is None:  # `scan.candidates()` holds only verdicts with one
                    continue
                started = time.perf_counter()
                scoring = None if own is None else personal_scoring(own, verdict.layers)
                if own is not None and scoring is not None and scoring["score"] < own.threshold:
                    reason = f"your personal model scores it {scoring['score']:.2f}, below {own.threshold}"
                    outcomes.append(GateOutcome(verdict.symbol, False, "personal", reason))
                    continue
                if journal is None:
                    journal = await read_journal_facts(self.store, profile, symbols, self.clock.now())
                outcome = await execution.enter(
                    profile,
                    candidate,
                    layer_results=layer_dicts(verdict),
                    markets=markets,
                    daily_closes=closes,
                    journal=journal,
                    analysis_at=scan.at,
                    scoring=scoring,
                )
                if outcome.position is not None:
                    # An entry adds a position (this unit holds the user's entry locks, and the entry
                    # touched no other position): the next gate sees it. One that closed at once (its
                    # stop fired) also moved the R ledger and maybe the last stop-loss: then
                    # everything is read again.
                    if outcome.position.is_open:
                        journal = journal.with_open_positions([*journal.open_positions, outcome.position])
                    else:
                        journal = None
                blocking = outcome.decision.blocking
                outcomes.append(
                    GateOutcome(
                        verdict.symbol,
                        outcome.decision.passed,
                        None if blocking is None else blocking.code,
                        outcome.decision.headline,
                    )
                )
                if outcome.position is not None:
                    sent += 1
                    self.metrics.observe("order_latency", time.perf_counter() - started, {"kind": "entry"})
        return UserOutcome(gate=tuple(outcomes), orders_sent=sent)

    async def manage(self, unit: UserUnit, at: dt.datetime) -> None:
        """Exits, stops and expiries; once per cycle interval a full reconciliation instead (it ends in
        the same management pass), so the venue is reconciled every cycle without a second pass.

        Orders are journaled before they are sent, so a user without an open position in the journal
        has nothing on the venue to reconcile or manage."""
        positions = await self.store.open_positions(unit.user_id, unit.exchange_id)
        if not positions:
            return
        last = self._reconciled.get(unit)
        if last is None or at - last >= self.reconcile_every:
            await self.reconcile(unit, at, positions)
            return
        profile = await self.profiles.profile(unit.user_id, unit.exchange_id, self.clock.now())
        async with self.clients.client(unit) as exchange:
            started = time.perf_counter()
            await self._execution(exchange).manage(profile)
            self.metrics.observe("manage_unit", time.perf_counter() - started)

    async def reconcile(
        self, unit: UserUnit, at: dt.datetime | None = None, positions: list[PositionRecord] | None = None
    ) -> None:
        """Reconcile one user with the venue: at start-up (fills while the platform was down are
        booked) and once per cycle. `positions`: the user's open positions just read (else read)."""
        profile = await self.profiles.profile(unit.user_id, unit.exchange_id, self.clock.now())
        async with self.clients.client(unit) as exchange:
            started = time.perf_counter()
            await reconcile(self._execution(exchange), profile, positions)
            self.metrics.observe("reconcile_unit", time.perf_counter() - started)
        self._reconciled[unit] = at or self.clock.now()


class StaticDirectory:
    """A fixed set of units (backtests, benchmarks, the offline demo)."""

    def __init__(self, units: list[UserUnit]) -> None:
        self._units = list(units)

    async def units(self, exchange_id: str) -> list[UserUnit]:
        return [u for u in self._units if u.exchange_id == exchange_id]


class StaticProfiles:
    """One profile template per user; the key counts as re-verified at every read (no real key)."""

    def __init__(
        self, template: TradingProfile, overrides: Mapping[int, TradingProfile] | None = None
    ) -> None:
        self.template = template
        self.overrides = dict(overrides or {})

    async def profile(self, user_id: int, exchange_id: str, now: dt.datetime) -> TradingProfile:
        base = self.overrides.get(user_id, self.template)
        return replace(base, user_id=user_id, exchange_id=exchange_id, permissions_verified_at=now)


class StaticClients:
    """Clients held for the engine's lifetime, one per user (closed by the engine, not per unit)."""

    def __init__(self, clients: Mapping[int, ExchangeClient]) -> None:
        self.clients = dict(clients)

    def client(self, unit: UserUnit) -> AbstractAsyncContextManager[ExchangeClient]:
        return _Borrowed(self.clients[unit.user_id])

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()


class _Borrowed:
    def __init__(self, client: ExchangeClient) -> None:
        self._client = client

    async def __aenter__(self) -> ExchangeClient:
        return self._client

    async def __aexit__(self, *_: object) -> None:
        return None
