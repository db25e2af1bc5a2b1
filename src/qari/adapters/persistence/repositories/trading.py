"""SqlTradingStore: the `TradingStore` port over SQLAlchemy (SQLite and PostgreSQL).

Each write runs in its own short transaction and commits before returning, so whatever the engine
persists survives a crash right after the call. Alerts are written to the outbox in the same
transaction as the journal line that caused them.

`batch()` groups the writes (and reads) of one step of a unit of work that makes no venue call in
between into one transaction: they commit together when the block ends (or none does), so what must
be durable before an order is sent is still committed before the caller sends it. `reads()` shares one
session among a group of reads. Both are task-local (a context variable), so concurrent units of work
never share a session.

`deferred_writes()` holds, for the rest of a unit of work, what need not be durable before its next
step: blocked gate evaluations (`record_gate`) and the writes handed to `later()` (a venue's answer
and its journal line). They are committed in the block's next write transaction, ahead of its own
writes (so the journal's order is kept), or when the block ends; a read of the block's task first
commits the held writes, so the task never reads its own journal stale. One transaction fewer per
held group, which matters most where writers queue (SQLite has one).

The engine's hot path (every statement the cycle runs per candidate and per order) uses prebuilt Core
statements on the tables with bound parameters: no ORM objects, identity map or flush, and no
statement built (and cache-keyed) per call. The rows map to core records exactly as ORM rows would.

Why one file of ~600 lines: it is one port (`TradingStore`, ~20 methods) plus its hot path's prebuilt
statements and row mappings; every method runs under the transaction scoping above (`batch`, `reads`,
`deferred_writes`), which is the class's own state, so the methods stay together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence.alerts import emit_alert
from qari.adapters.persistence.live import note_change
from qari.adapters.persistence.tables.trading import (
    FillRow,
    GateEvaluationRow,
    OrderRow,
    PositionEventRow,
    PositionRow,
    RLedgerRow,
)
from qari.core.clocks import ManualClock
from qari.core.orders import OrderType, Side
from qari.core.time import as_utc
from qari.risk.kill_switch import RealisedR
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import ExitReason, Leg2State, PositionState
from qari.trading.records import FillRecord, GateRecord, OrderRecord, PositionRecord

OPEN = [
    s.value
    for s in (PositionState.PENDING, PositionState.OPEN, PositionState.PT1_TAKEN, PositionState.PT2_TAKEN)
]

_POSITIONS = cast(Table, PositionRow.__table__)
_ORDERS = cast(Table, OrderRow.__table__)
_GATES = cast(Table, GateEvaluationRow.__table__)
_EVENTS = cast(Table, PositionEventRow.__table__)
_R_LEDGER = cast(Table, RLedgerRow.__table__)

_INSERT_POSITION = insert(_POSITIONS)
_INSERT_ORDER = insert(_ORDERS)
_INSERT_GATE = insert(_GATES)
_INSERT_EVENT = insert(_EVENTS)
# The SET columns come from the parameters' keys; `row_id` names the row.
_UPDATE_POSITION = update(_POSITIONS).where(_POSITIONS.c.id == bindparam("row_id"))
_UPDATE_ORDER = update(_ORDERS).where(_ORDERS.c.id == bindparam("row_id"))
_OPEN_POSITIONS = (
    select(_POSITIONS)
    .where(_POSITIONS.c.user_id == bindparam("user_id"), _POSITIONS.c.state.in_(OPEN))
    .order_by(_POSITIONS.c.id)
)
_OPEN_POSITIONS_ON = (
    select(_POSITIONS)
    .where(
        _POSITIONS.c.user_id == bindparam("user_id"),
        _POSITIONS.c.state.in_(OPEN),
        _POSITIONS.c.exchange_id == bindparam("exchange_id"),
    )
    .order_by(_POSITIONS.c.id)
)
_ORDERS_FOR = select(_ORDERS).where(_ORDERS.c.position_id == bindparam("position_id")).order_by(_ORDERS.c.id)
_BUYS_SINCE = (
    select(_ORDERS)
    .where(
        _ORDERS.c.user_id == bindparam("user_id"),
        _ORDERS.c.side == Side.BUY.value,
        _ORDERS.c.created_at >= bindparam("since"),
    )
    .order_by(_ORDERS.c.id)
)
_R_ENTRIES = select(_R_LEDGER.c.at, _R_LEDGER.c.r).where(
    _R_LEDGER.c.user_id == bindparam("user_id"), _R_LEDGER.c.at >= bindparam("since")
)
_LAST_STOP_LOSS = select(func.max(_POSITIONS.c.closed_at)).where(
    _POSITIONS.c.user_id == bindparam("user_id"),
    _POSITIONS.c.symbol == bindparam("symbol"),
    _POSITIONS.c.exit_reason == ExitReason.STOP_LOSS.value,
)
_LAST_STOP_LOSSES = (
    select(_POSITIONS.c.symbol, func.max(_POSITIONS.c.closed_at))
    .where(
        _POSITIONS.c.user_id == bindparam("user_id"),
        _POSITIONS.c.symbol.in_(bindparam("symbols", expanding=True)),
        _POSITIONS.c.exit_reason == ExitReason.STOP_LOSS.value,
    )
    .group_by(_POSITIONS.c.symbol)
)

_POSITION_FIELDS = [
    "user_id",
    "exchange_id",
    "symbol",
    "base",
    "entry_price",
    "structural_stop",
    "stop_price",
    "pt1",
    "pt2",
    "leg1_qty",
    "leg2_qty",
    "planned_r_quote",
    "fee_rate",
    "bought_qty",
    "sold_qty",
    "fee_base",
    "fees_quote",
    "cost_quote",
    "proceeds_quote",
    "blended_entry",
    "entered_qty_at_pt1",
    "realised_pnl_quote",
    "realised_r",
    "exit_reason",
    "order_seq",
    "stop_mode",
    "explanation",
    "layer_results",
    "gate_evaluation_id",
    "leg1_expires_at",
    "leg2_expires_at",
    "opened_at",
    "closed_at",
]
_ORDER_FIELDS = [
    "position_id",
    "user_id",
    "symbol",
    "qty_base",
    "price",
    "trigger_price",
    "client_order_id",
    "exchange_order_id",
    "filled_base",
    "avg_price",
    "fee",
    "fee_currency",
    "note",
    "created_at",
]


def _dec(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).normalize()


def position_from_row(row: PositionRow | Row[Any]) -> PositionRecord:
    values: dict[str, Any] = {}
    for name in _POSITION_FIELDS:
        value = getattr(row, name)
        if isinstance(value, dt.datetime):
            value = as_utc(value)
        elif isinstance(value, Decimal):
            value = _dec(value)
        values[name] = value
    return PositionRecord(
        id=row.id,
        state=PositionState(row.state),
        leg2_state=Leg2State(row.leg2_state),
        close_requested_at=as_utc(row.close_requested_at),  # never written back by save_position
        **values,
    )


def _position_values(position: PositionRecord) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(position, name) for name in _POSITION_FIELDS}
    values["state"] = position.state.value
    values["leg2_state"] = position.leg2_state.value
    return values


def order_from_row(row: OrderRow | Row[Any]) -> OrderRecord:
    values: dict[str, Any] = {}
    for name in _ORDER_FIELDS:
        value = getattr(row, name)
        values[name] = (
            as_utc(value)
            if isinstance(value, dt.datetime)
            else _dec(value)
            if isinstance(value, Decimal)
            else value
        )
    return OrderRecord(
        id=row.id,
        role=OrderRole(row.role),
        side=Side(row.side),
        type=OrderType(row.type),
        state=OrderState(row.state),
        updated_at=as_utc(row.updated_at),
        **values,
    )


def _order_values(order: OrderRecord) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(order, name) for name in _ORDER_FIELDS}
    values["role"] = order.role.value
    values["side"] = order.side.value
    values["type"] = order.type.value
    values["state"] = order.state.value
    values["updated_at"] = order.updated_at or order.created_at
    return values


def _gate_values(record: GateRecord) -> dict[str, Any]:
    return {
        "user_id": record.user_id,
        "exchange_id": record.exchange_id,
        "symbol": record.symbol,
        "passed": record.passed,
        "blocking_code": record.blocking_code,
        "reason": record.reason,
        "results": record.results,
        "candidate": record.candidate,
        "at": record.at,
        "inputs": record.inputs,
    }


def _inserted_id(result: Any) -> int:
    return int(result.inserted_primary_key[0])


def _fill_row(fill: FillRecord) -> FillRow:
    return FillRow(
        position_id=fill.position_id,
        order_id=fill.order_id,
        user_id=fill.user_id,
        symbol=fill.symbol,
        trade_id=fill.trade_id,
        side=fill.side.value,
        price=fill.price,
        qty_base=fill.qty_base,
        fee=fill.fee,
        fee_currency=fill.fee_currency,
        at=fill.at,
    )


Write = Callable[[], Awaitable[None]]


def _note_fills(session: AsyncSession, fills: Iterable[FillRecord]) -> None:
    for fill in fills:
        note_change(session, fill.user_id, "fill", position_id=fill.position_id, order_id=fill.order_id)


@dataclass(slots=True)
class _Held:
    """What a `deferred_writes()` block holds for its next write transaction."""

    gates: list[GateRecord] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)

    def take(self) -> _Held:
        taken = _Held(self.gates, self.writes)
        self.gates, self.writes = [], []
        return taken

    def give_back(self, taken: _Held) -> None:
        self.gates[:0] = taken.gates
        self.writes[:0] = taken.writes


class SqlTradingStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._shared: ContextVar[AsyncSession | None] = ContextVar(f"qari-store-{id(self)}", default=None)
        self._held: ContextVar[_Held | None] = ContextVar(f"qari-store-held-{id(self)}", default=None)

    def batch(self) -> AbstractAsyncContextManager[None]:
        """One transaction for every store call inside the block (see module doc); nestable."""
        return self._sharing(transaction=True)

    def reads(self) -> AbstractAsyncContextManager[None]:
        """One session for the reads inside the block (inside a batch: the batch's)."""
        return self._sharing(transaction=False)

    @asynccontextmanager
    async def _sharing(self, *, transaction: bool) -> AsyncIterator[None]:
        if self._shared.get() is not None:
            yield
            return
        if not transaction:
            await self._commit_held_writes()
        held = self._held.get()
        taken = held.take() if transaction and held is not None else _Held()
        committed = False
        try:
            async with self._sessions() as session:
                async with session.begin() if transaction else nullcontext():
                    token = self._shared.set(session)
                    try:
                        await self._write_held(session, taken)
                        yield
                    finally:
                        self._shared.reset(token)
                committed = True
        except BaseException:
            if held is not None and not committed:
                held.give_back(taken)  # rolled back: the block still owes them
            raise

    async def _write_held(self, session: AsyncSession, held: _Held) -> None:
        for write in held.writes:
            await write()
        if held.gates:
            await session.execute(_INSERT_GATE, [_gate_values(r) for r in held.gates])
            for record in held.gates:
                note_change(session, record.user_id, "gate_evaluation", exchange=record.exchange_id)

    async def _commit_held_writes(self) -> None:
        held = self._held.get()
        if held is not None and held.writes:
            async with self.batch():
                pass  # the batch writes what is held first

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """The batch's session, or a transaction of its own committed on exit."""
        shared = self._shared.get()
        if shared is not None:
            if not shared.in_transaction():
                raise RuntimeError("a write inside reads(): use batch()")
            yield shared
            return
        async with self.batch():
            session = self._shared.get()
            assert session is not None
            yield session

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        shared = self._shared.get()
        if shared is not None:
            yield shared
            return
        await self._commit_held_writes()
        async with self._sessions() as session:
            yield session

    async def add_position(self, position: PositionRecord) -> PositionRecord:
        values = _position_values(position)
        values["updated_at"] = position.opened_at
        async with self._write() as session:
            position.id = _inserted_id(await session.execute(_INSERT_POSITION, values))
            note_change(session, position.user_id, "position", position_id=position.id)
        return position

    async def save_position(self, position: PositionRecord, *, realised: RealisedR | None = None) -> None:
        values = _position_values(position)
        values["row_id"] = position.id
        stamp = realised.at if realised else position.closed_at
        if stamp is not None:  # otherwise the row keeps its `updated_at`
            values["updated_at"] = stamp
        async with self._write() as session:
            # One UPDATE by primary key (no read first): fewer round trips while SQLite's writer waits.
            result = await session.execute(_UPDATE_POSITION, values)
            if not getattr(result, "rowcount", 1):
                raise LookupError(f"position {position.id} does not exist")
            note_change(session, position.user_id, "position", position_id=position.id or 0)
            if realised is not None and position.id is not None:
                pnl = position.realised_pnl_quote or Decimal(0)
                session.add(
                    RLedgerRow(
                        user_id=position.user_id,
                        position_id=position.id,
                        r=realised.r,
                        pnl_quote=pnl,
                        at=realised.at,
                    )
                )

    async def get_position(self, position_id: int) -> PositionRecord | None:
        async with self._read() as session:
            row = await session.get(PositionRow, position_id)
            return None if row is None else position_from_row(row)

    async def open_positions(self, user_id: int, exchange_id: str | None = None) -> list[PositionRecord]:
        params: dict[str, Any] = {"user_id": user_id}
        query = _OPEN_POSITIONS
        if exchange_id is not None:
            query, params["exchange_id"] = _OPEN_POSITIONS_ON, exchange_id
        async with self._read() as session:
            rows = (await session.execute(query, params)).all()
            return [position_from_row(r) for r in rows]

    async def all_positions(self, user_id: int) -> list[PositionRecord]:
        async with self._sessions() as session:
            query = select(PositionRow).where(PositionRow.user_id == user_id).order_by(PositionRow.id)
            return [position_from_row(r) for r in (await session.scalars(query)).all()]

    async def add_order(self, order: OrderRecord) -> OrderRecord:
        values = _order_values(order)
        async with self._write() as session:
            order.id = _inserted_id(await session.execute(_INSERT_ORDER, values))
            note_change(session, order.user_id, "order", position_id=order.position_id, order_id=order.id)
        return order

    async def save_order(self, order: OrderRecord) -> None:
        values = _order_values(order)
        values["row_id"] = order.id
        async with self._write() as session:
            result = await session.execute(_UPDATE_ORDER, values)
            if not getattr(result, "rowcount", 1):
                raise LookupError(f"order {order.id} does not exist")
            note_change(
                session, order.user_id, "order", position_id=order.position_id, order_id=order.id or 0
            )

    async def orders_for(self, position_id: int) -> list[OrderRecord]:
        async with self._read() as session:
            rows = (await session.execute(_ORDERS_FOR, {"position_id": position_id})).all()
            return [order_from_row(r) for r in rows]

    async def buy_orders_since(self, user_id: int, since: dt.datetime) -> list[OrderRecord]:
        async with self._read() as session:
            rows = (await session.execute(_BUYS_SINCE, {"user_id": user_id, "since": since})).all()
            return [order_from_row(r) for r in rows]

    async def add_fills(self, fills: list[FillRecord]) -> int:
        """Book the fills not booked yet (keyed by order and venue trade id); returns how many were new."""
        if not fills:
            return 0
        async with self._read() as session:
            query = select(FillRow.order_id, FillRow.trade_id).where(
                FillRow.order_id.in_({f.order_id for f in fills})
            )
            known = {(order_id, trade_id) for order_id, trade_id in (await session.execute(query)).all()}
        fresh: dict[tuple[int, str], FillRecord] = {}
        for fill in fills:
            if (fill.order_id, fill.trade_id) not in known:
                fresh.setdefault((fill.order_id, fill.trade_id), fill)
        if not fresh:
            return 0
        if self._shared.get() is not None:
            async with self._write() as session:
                session.add_all(_fill_row(f) for f in fresh.values())
                await session.flush()
                _note_fills(session, fresh.values())
            return len(fresh)
        try:
            async with self._write() as session:
                session.add_all(_fill_row(f) for f in fresh.values())
                _note_fills(session, fresh.values())
            return len(fresh)
        except IntegrityError:  # another writer booked some meanwhile: one at a time
            added = 0
            for fill in fresh.values():
                try:
                    async with self._write() as session:
                        session.add(_fill_row(fill))
                        _note_fills(session, [fill])
                    added += 1
                except IntegrityError:
                    continue
            return added

    async def fills_for(self, position_id: int) -> list[FillRecord]:
        async with self._read() as session:
            query = select(FillRow).where(FillRow.position_id == position_id).order_by(FillRow.at, FillRow.id)
            return [
                FillRecord(
                    r.position_id,
                    r.order_id,
                    r.user_id,
                    r.symbol,
                    r.trade_id,
                    Side(r.side),
                    Decimal(r.price).normalize(),
                    Decimal(r.qty_base).normalize(),
                    Decimal(r.fee).normalize(),
                    r.fee_currency,
                    as_utc(r.at) or r.at,
                )
                for r in (await session.scalars(query)).all()
            ]

    async def record_gate(self, record: GateRecord) -> int:
        """Journal a gate evaluation; its id. Inside `deferred_writes()` a *blocked* one is held (see
        the module doc) and its id is 0."""
        held = self._held.get()
        if held is not None and not record.passed:
            held.gates.append(record)
            return 0
        async with self._write() as session:
            note_change(session, record.user_id, "gate_evaluation", exchange=record.exchange_id)
            return _inserted_id(await session.execute(_INSERT_GATE, _gate_values(record)))

    async def later(self, write: Write) -> None:
        """Run `write` (store calls) in the next write transaction of the task's `deferred_writes()`
        block; outside one, now, in a transaction of its own."""
        held = self._held.get()
        if held is not None:
            held.writes.append(write)
            return
        async with self.batch():
            await write()

    @asynccontextmanager
    async def deferred_writes(self) -> AsyncIterator[None]:
        """Hold blocked gate evaluations and `later()` writes (audit lines and answers no later step
        reads from the journal) for the block's next write transaction; what is still held when it
        ends, also in an error, is committed then, in one transaction."""
        if self._held.get() is not None:
            yield
            return
        held = _Held()
        token = self._held.set(held)
        try:
            yield
        finally:
            self._held.reset(token)
            if held.gates or held.writes:
                async with self.batch():
                    session = self._shared.get()
                    assert session is not None
                    await self._write_held(session, held)

    async def r_entries(self, user_id: int, since: dt.datetime) -> list[RealisedR]:
        async with self._read() as session:
            rows = (await session.execute(_R_ENTRIES, {"user_id": user_id, "since": since})).all()
            return [RealisedR(as_utc(r.at) or r.at, Decimal(r.r)) for r in rows]

    async def last_stop_loss_at(self, user_id: int, symbol: str) -> dt.datetime | None:
        async with self._read() as session:
            return as_utc(await session.scalar(_LAST_STOP_LOSS, {"user_id": user_id, "symbol": symbol}))

    async def last_stop_losses_at(
        self, user_id: int, symbols: Sequence[str]
    ) -> dict[str, dt.datetime | None]:
        """The latest stop-loss close per symbol in one query (None where there was none)."""
        found: dict[str, dt.datetime | None] = dict.fromkeys(symbols)
        if not found:
            return found
        async with self._read() as session:
            params = {"user_id": user_id, "symbols": list(found)}
            for symbol, closed_at in (await session.execute(_LAST_STOP_LOSSES, params)).all():
                found[symbol] = as_utc(closed_at)
        return found

    async def record_event(
        self,
        position: PositionRecord,
        kind: str,
        message: str,
        at: dt.datetime,
        *,
        alert: dict[str, str] | None = None,
    ) -> None:
        async with self._write() as session:
            await session.execute(
                _INSERT_EVENT, {"position_id": position.id, "kind": kind, "message": message, "at": at}
            )
            note_change(session, position.user_id, "position", position_id=position.id or 0)
            if alert is not None:
                await emit_alert(
                    session,
                    user_id=position.user_id,
                    kind=kind,
                    data=alert,
                    dedupe_key=f"position:{position.id}:{kind}",
                    clock=ManualClock(at),
                )

    async def alert(
        self, user_id: int, kind: str, data: dict[str, str], at: dt.datetime, *, dedupe_key: str | None = None
    ) -> None:
        async with self._write() as session:
            await emit_alert(
                session, user_id=user_id, kind=kind, data=data, dedupe_key=dedupe_key, clock=ManualClock(at)
            )
