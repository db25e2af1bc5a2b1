"""In-memory `TradingStore` and `EntryLock` for backtests: the journal of a throwaway run.

A backtest writes its journal tens of thousands of times and reads it back once, so a database
round-trip per write is most of its cost. These keep the exact read-back semantics of
`SqlTradingStore` (fresh copies, normalised decimals, ids in insertion order, one fill per order
and venue trade id, R ledger and stop-loss history) without the I/O. Durability is not needed: a
backtest that dies is simply run again. Live and sandbox modes always use the SQL store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from operator import attrgetter
from typing import Protocol, TypeVar

from qari.core.orders import Side
from qari.risk.kill_switch import RealisedR
from qari.trading.position import ExitReason
from qari.trading.records import FillRecord, GateRecord, OrderRecord, PositionRecord

__all__ = ["MemoryEntryLock", "MemoryTradingStore"]

R = TypeVar("R", PositionRecord, OrderRecord, FillRecord)


class _Copy(Protocol[R]):
    def __call__(self, record: R, /) -> R: ...


def _copier(cls: type[R], *, normalise: bool) -> _Copy[R]:
    """What a SQL round-trip hands back: a new object with every field read at once and passed to the
    class's own `__init__` (every field is an init field), JSON lists copied, and, for what is written,
    decimals normalised, as the SQL store's reads give them back."""
    fields = dataclasses.fields(cls)
    assert all(f.init for f in fields), f"{cls.__name__}: a copy passes every field to __init__"
    values = attrgetter(*(f.name for f in fields))
    lists = tuple(i for i, f in enumerate(fields) if str(f.type).startswith("list["))
    if not lists and not normalise:
        return lambda record: cls(*values(record))

    def copy(record: R) -> R:
        row = list(values(record))
        if normalise:
            row = [v.normalize() if type(v) is Decimal else v for v in row]
        for i in lists:
            row[i] = [dict(v) for v in row[i]]
        return cls(*row)

    return copy


_read_position = _copier(PositionRecord, normalise=False)
_read_order = _copier(OrderRecord, normalise=False)
_store_position = _copier(PositionRecord, normalise=True)
_store_order = _copier(OrderRecord, normalise=True)
_store_fill = _copier(FillRecord, normalise=True)


class MemoryTradingStore:
    def __init__(self) -> None:
        self._positions: dict[int, PositionRecord] = {}
        # Indexes kept by every position write (a backtest keeps thousands of closed positions):
        self._open: set[int] = set()  # ids of the open positions
        self._stop_losses: dict[tuple[int, str], dict[int, dt.datetime]] = {}  # (user, symbol): {id: close}
        self._orders: dict[int, OrderRecord] = {}
        self._orders_by_position: dict[int, list[int]] = {}
        self._fills: dict[int, list[FillRecord]] = {}
        self._fill_keys: set[tuple[int, str]] = set()
        self._r_ledger: dict[int, list[tuple[RealisedR, int]]] = {}
        self.gates: list[GateRecord] = []
        self.events: list[tuple[int | None, str, str, dt.datetime]] = []
        self.alerts: list[tuple[int, str, dict[str, str], dt.datetime]] = []

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Writes here are immediate; a throwaway journal needs no all-or-nothing group."""
        yield

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[None]:
        yield

    @asynccontextmanager
    async def deferred_writes(self) -> AsyncIterator[None]:
        yield

    async def later(self, write: Callable[[], Awaitable[None]]) -> None:
        """Nothing is held here: `write` runs now, as one batch."""
        async with self.batch():
            await write()

    async def add_position(self, position: PositionRecord) -> PositionRecord:
        position.id = len(self._positions) + 1
        self._keep(position.id, position)
        return position

    async def save_position(self, position: PositionRecord, *, realised: RealisedR | None = None) -> None:
        if position.id is None or position.id not in self._positions:
            raise LookupError(f"position {position.id} does not exist")
        self._keep(position.id, position)
        if realised is not None:
            self._r_ledger.setdefault(position.user_id, []).append((realised, position.id))

    def _keep(self, position_id: int, position: PositionRecord) -> None:
        """Store a copy and keep the indexes of open positions and stop-loss closes up to date."""
        stored = self._positions[position_id] = _store_position(position)
        if stored.is_open:
            self._open.add(position_id)
        else:
            self._open.discard(position_id)
        stop_losses = self._stop_losses.setdefault((stored.user_id, stored.symbol), {})
        if stored.exit_reason == ExitReason.STOP_LOSS.value and stored.closed_at is not None:
            stop_losses[position_id] = stored.closed_at
        else:
            stop_losses.pop(position_id, None)

    async def get_position(self, position_id: int) -> PositionRecord | None:
        stored = self._positions.get(position_id)
        return None if stored is None else _read_position(stored)

    async def open_positions(self, user_id: int, exchange_id: str | None = None) -> list[PositionRecord]:
        found = (self._positions[i] for i in sorted(self._open))  # in id order, as the SQL store reads
        return [
            _read_position(p)
            for p in found
            if p.user_id == user_id and (exchange_id is None or p.exchange_id == exchange_id)
        ]

    async def all_positions(self, user_id: int) -> list[PositionRecord]:
        return [_read_position(p) for p in self._positions.values() if p.user_id == user_id]

    async def add_order(self, order: OrderRecord) -> OrderRecord:
        order.id = len(self._orders) + 1
        self._orders[order.id] = _store_order(order)
        self._orders_by_position.setdefault(order.position_id, []).append(order.id)
        return order

    async def save_order(self, order: OrderRecord) -> None:
        if order.id not in self._orders:
            raise LookupError(f"order {order.id} does not exist")
        stored = self._orders[order.id] = _store_order(order)
        if stored.updated_at is None:
            stored.updated_at = stored.created_at

    async def orders_for(self, position_id: int) -> list[OrderRecord]:
        orders = self._orders
        return [_read_order(orders[i]) for i in self._orders_by_position.get(position_id, [])]

    async def buy_orders_since(self, user_id: int, since: dt.datetime) -> list[OrderRecord]:
        return [
            _read_order(o)
            for o in self._orders.values()
            if o.user_id == user_id and o.side is Side.BUY and o.created_at >= since
        ]

    async def add_fills(self, fills: list[FillRecord]) -> int:
        added = 0
        for fill in fills:
            key = (fill.order_id, fill.trade_id)
            if key in self._fill_keys:
                continue  # already booked: fills are keyed by (order, venue trade id)
            self._fill_keys.add(key)
            self._fills.setdefault(fill.position_id, []).append(_store_fill(fill))
            added += 1
        return added

    async def fills_for(self, position_id: int) -> list[FillRecord]:
        return sorted(self._fills.get(position_id, []), key=lambda f: f.at)  # stable: then by id

    async def record_gate(self, record: GateRecord) -> int:
        self.gates.append(record)
        return len(self.gates)

    async def r_entries(self, user_id: int, since: dt.datetime) -> list[RealisedR]:
        return [r for r, _ in self._r_ledger.get(user_id, []) if r.at >= since]

    async def last_stop_loss_at(self, user_id: int, symbol: str) -> dt.datetime | None:
        return max(self._stop_losses.get((user_id, symbol), {}).values(), default=None)

    async def last_stop_losses_at(
        self, user_id: int, symbols: Sequence[str]
    ) -> dict[str, dt.datetime | None]:
        return {symbol: await self.last_stop_loss_at(user_id, symbol) for symbol in symbols}

    async def record_event(
        self,
        position: PositionRecord,
        kind: str,
        message: str,
        at: dt.datetime,
        *,
        alert: dict[str, str] | None = None,
    ) -> None:
        self.events.append((position.id, kind, message, at))
        if alert is not None:
            self.alerts.append((position.user_id, kind, alert, at))

    async def alert(
        self, user_id: int, kind: str, data: dict[str, str], at: dt.datetime, *, dedupe_key: str | None = None
    ) -> None:
        self.alerts.append((user_id, kind, data, at))


class MemoryEntryLock:
    """Gate check G10 within one process: a backtest has exactly one engine."""

    def __init__(self) -> None:
        self._held: set[tuple[int, str]] = set()

    @asynccontextmanager
    async def hold(self, user_id: int, symbol: str) -> AsyncIterator[bool]:
        async with self.hold_many(user_id, [symbol]) as held:
            yield symbol in held

    @asynccontextmanager
    async def hold_many(self, user_id: int, symbols: Iterable[str]) -> AsyncIterator[frozenset[str]]:
        keys = {(user_id, s) for s in symbols} - self._held
        self._held |= keys
        try:
            yield frozenset(s for _, s in keys)
        finally:
            self._held -= keys
