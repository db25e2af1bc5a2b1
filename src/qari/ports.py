"""The protocols the application ring talks through; adapters implement them.

ExchangeClient — required methods (all async, all return core types, never ccxt dicts):
    load_markets()            -> dict[symbol, InstrumentRules]
    fetch_balances()          -> dict[currency, Balance]
    fetch_ticker(symbol)      -> Ticker
    fetch_tickers()           -> dict[symbol, Ticker]
    fetch_order_book(symbol)  -> OrderBook
    fetch_ohlcv(symbol, timeframe, since_ms, limit) -> list[[ms, o, h, l, c, v]]
    create_order(request)     -> OrderReport     never retried; a timeout raises OutcomeUnknownError
    cancel_order(symbol, exchange_order_id) -> None
    fetch_order_by_client_id(symbol, client_order_id) -> OrderReport | None
    fetch_open_orders(symbol | None, *, stop_orders=True) -> list[OrderReport]
                              stop_orders=False: the caller needs no conditional (stop) order, so a
                              venue that lists those apart may leave them out (one read fewer)
    fetch_fills(symbol, since_ms) -> list[Fill]
    close()
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from qari.analysis.verdict import Verdict
from qari.core.clocks import ManualClock, WallClock
from qari.core.instrument import InstrumentRules
from qari.core.market import MarketSnapshot, OrderBook, Ticker
from qari.core.orders import Balance, Fill, OrderReport, OrderRequest
from qari.core.time import Clock
from qari.risk.kill_switch import RealisedR
from qari.risk.profile import TradingProfile
from qari.trading.records import FillRecord, GateRecord, OrderRecord, PositionRecord

__all__ = [
    "Clock",
    "ExchangeClient",
    "LiveEvent",
    "LiveEventFeed",
    "LiveEventSink",
    "LiveSubscription",
    "ManualClock",
    "WallClock",
]


class ExchangeClient(Protocol):
    exchange_id: str

    async def load_markets(self) -> dict[str, InstrumentRules]: ...

    async def fetch_balances(self) -> dict[str, Balance]: ...

    async def fetch_ticker(self, symbol: str) -> Ticker: ...

    async def fetch_tickers(self) -> dict[str, Ticker]: ...

    async def fetch_order_book(self, symbol: str, limit: int = 50) -> OrderBook: ...

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[list[float]]: ...

    async def create_order(self, request: OrderRequest) -> OrderReport: ...

    async def cancel_order(self, symbol: str, exchange_order_id: str) -> None: ...

    async def fetch_order_by_client_id(self, symbol: str, client_order_id: str) -> OrderReport | None: ...

    async def fetch_open_orders(
        self, symbol: str | None = None, *, stop_orders: bool = True
    ) -> list[OrderReport]: ...

    async def fetch_fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]: ...

    async def close(self) -> None: ...


# --- Trading persistence and locks (execution). Records are plain core types, never rows. ---


class TradingStore(Protocol):
    """The trade journal. Every write method commits before returning, so an order's client id is
    durable before the caller sends it (ARCHITECTURE rule 6) — except inside `batch()`, whose writes
    commit together when the block ends; a caller sends nothing from inside a batch.

    Required: add_position, save_position, get_position, open_positions, add_order, save_order,
    orders_for, add_fills, record_gate, r_entries, last_stop_loss_at, last_stop_losses_at,
    record_event, batch, reads, deferred_writes, later.
    """

    def batch(self) -> AbstractAsyncContextManager[None]:
        """Group the store calls of the block into one transaction (nestable, task-local)."""
        ...

    def reads(self) -> AbstractAsyncContextManager[None]:
        """Share one session among the reads of the block (task-local)."""
        ...

    def deferred_writes(self) -> AbstractAsyncContextManager[None]:
        """Hold the block's blocked gate evaluations and `later()` writes (task-local): they commit with
        its next write transaction, ahead of that transaction's own writes, or when it ends. A read
        of the task's own sees them committed first."""
        ...

    async def later(self, write: Callable[[], Awaitable[None]]) -> None:
        """Run `write` (calls of this store) in the next write transaction of the task's
        `deferred_writes()` block; outside one, now and on its own. Only for writes the caller's next
        venue call does not depend on being durable (never an order's intent)."""
        ...

    async def add_position(self, position: PositionRecord) -> PositionRecord: ...

    async def save_position(self, position: PositionRecord, *, realised: RealisedR | None = None) -> None: ...

    async def get_position(self, position_id: int) -> PositionRecord | None: ...

    async def open_positions(self, user_id: int, exchange_id: str | None = None) -> list[PositionRecord]: ...

    async def add_order(self, order: OrderRecord) -> OrderRecord: ...

    async def save_order(self, order: OrderRecord) -> None: ...

    async def orders_for(self, position_id: int) -> list[OrderRecord]: ...

    async def buy_orders_since(self, user_id: int, since: dt.datetime) -> list[OrderRecord]:
        """The user's buy orders journaled since `since`, on every venue (the guard's daily cap)."""
        ...

    async def add_fills(self, fills: list[FillRecord]) -> int: ...

    async def fills_for(self, position_id: int) -> list[FillRecord]: ...

    async def record_gate(self, record: GateRecord) -> int: ...

    async def r_entries(self, user_id: int, since: dt.datetime) -> list[RealisedR]: ...

    async def last_stop_loss_at(self, user_id: int, symbol: str) -> dt.datetime | None: ...

    async def last_stop_losses_at(
        self, user_id: int, symbols: Sequence[str]
    ) -> dict[str, dt.datetime | None]:
        """`last_stop_loss_at` for several symbols in one read: every symbol asked is a key."""
        ...

    async def record_event(
        self,
        position: PositionRecord,
        kind: str,
        message: str,
        at: dt.datetime,
        *,
        alert: dict[str, str] | None = None,
    ) -> None: ...


@runtime_checkable
class AlertSink(Protocol):
    """Queue a user alert outside any position (kill switch cleared); `dedupe_key` makes it once-only."""

    async def alert(
        self, user_id: int, kind: str, data: dict[str, str], at: dt.datetime, *, dedupe_key: str | None = None
    ) -> None: ...


class EntryLock(Protocol):
    """Gate check G10: one entry attempt per user+symbol across processes and machines.

    `hold(...)` yields True when this caller holds the lock (released on exit), False otherwise.
    """

    def hold(self, user_id: int, symbol: str) -> AbstractAsyncContextManager[bool]: ...

    def hold_many(self, user_id: int, symbols: Iterable[str]) -> AbstractAsyncContextManager[frozenset[str]]:
        """`hold` for several symbols at once (a unit of work's candidates); yields those held."""
        ...


class ProfileSource(Protocol):
    """The user's standing trading facts (settings, plan, platform switches, key health) at `now`."""

    async def profile(self, user_id: int, exchange_id: str, now: dt.datetime) -> TradingProfile: ...


# --- Live updates (issue 19 item 7): what a write tells the dashboards, after it commits. ---


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """Something a user sees changed: `type` names the thing (`position`, `scan`, `connection`, ...),
    `ids` which one (row ids, an exchange id). Never a secret and never the data itself: a dashboard
    refetches the resources the type names. `user_id` None is every user (a platform switch)."""

    user_id: int | None
    type: str
    ids: Mapping[str, int | str] = field(default_factory=dict)

    def key(self) -> tuple[int | None, str, tuple[tuple[str, int | str], ...]]:
        """Two events with one key say the same thing (a slow subscriber keeps one of them)."""
        return self.user_id, self.type, tuple(sorted(self.ids.items()))


class LiveEventSink(Protocol):
    """Where committed changes go: never blocks and never fails the write that caused them."""

    def publish(self, event: LiveEvent) -> None: ...


class LiveSubscription(Protocol):
    async def get(self) -> LiveEvent:
        """The next event (waits); safe to cancel (a timeout loses nothing)."""
        ...


class LiveEventFeed(Protocol):
    """The events of one user (and the platform-wide ones) from subscribing on, until the block ends."""

    def subscribe(self, user_id: int) -> AbstractAsyncContextManager[LiveSubscription]: ...


# --- The scan cycle's data: what the engine hands its recorders and task workers. ---


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long a cycle waits for each stage (seconds) and how many users it runs at once."""

    refresh_seconds: float = 60.0
    user_seconds: float = 45.0
    manage_seconds: float = 25.0
    max_concurrent_users: int = 64


@dataclass(frozen=True, slots=True)
class UserUnit:
    """One user's work on one exchange connection: plain data, so it can be queued anywhere."""

    user_id: int
    exchange_id: str
    connection_id: int | None = None


@dataclass(frozen=True, slots=True)
class GateOutcome:
    symbol: str
    passed: bool
    blocking_code: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class UserOutcome:
    gate: tuple[GateOutcome, ...] = ()
    orders_sent: int = 0


class CycleRecorder(Protocol):
    """Where cycle records and the latest scan view go (database in live/sandbox, memory in backtests)."""

    async def record(self, report: CycleReport) -> None: ...


@dataclass(slots=True)
class ExchangeScan:
    """One exchange's shared analysis for this cycle; handed to every user of that exchange."""

    exchange_id: str
    at: dt.datetime
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    snapshots: Mapping[str, MarketSnapshot] = field(default_factory=dict)
    entries_allowed: bool = True
    error: str | None = None
    # The venue's health state ("up", "degraded", "maintenance") as the cycle ends: carried as data, so
    # a recorder stores it without asking a live tracker.
    health: str = "up"

    def candidates(self) -> list[Verdict]:
        """Verdicts with a trade candidate, best score first (ties by symbol, deterministic)."""
        found = [v for v in self.verdicts.values() if v.candidate is not None]
        return sorted(found, key=lambda v: (-v.score, v.symbol))


@dataclass(slots=True)
class UnitResult:
    unit: UserUnit
    outcome: UserOutcome | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass(slots=True)
class CycleReport:
    at: dt.datetime
    mode: str
    scans: list[ExchangeScan] = field(default_factory=list)
    units: list[UnitResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        return sum(1 for u in self.units if u.error) + sum(1 for s in self.scans if s.error)

    def gate_blocks(self) -> Counter[str]:
        return Counter(
            g.blocking_code
            for u in self.units
            if u.outcome
            for g in u.outcome.gate
            if not g.passed and g.blocking_code
        )


class NullRecorder:
    async def record(self, report: CycleReport) -> None:
        return None
