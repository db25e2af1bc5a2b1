"""SqlTradingStore.deferred_writes on SQLite and PostgreSQL: held writes commit with the task's next
write transaction (ahead of its own writes) or when the block ends; the task reads them back at once;
a rolled-back transaction hands them back to the block; other sessions never see half of a group."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from qari.adapters.persistence.db import make_sessionmaker
from qari.adapters.persistence.repositories.trading import SqlTradingStore
from qari.adapters.persistence.tables.trading import GateEvaluationRow, OrderRow, PositionEventRow
from qari.core.orders import OrderType, Side
from qari.trading.order import OrderRole, OrderState
from qari.trading.records import GateRecord, OrderRecord, PositionRecord

from .support import START, migrated_engine, register_user
from .test_store import a_position


class Journal:
    """The store under test, plus what another session (another task, the web app) sees."""

    def __init__(self, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], user_id: int) -> None:
        self.engine = engine
        self.sessions = sessions
        self.store = SqlTradingStore(sessions)
        self.user_id = user_id
        self.commits = 0
        event.listen(engine.sync_engine, "commit", self._count)

    def _count(self, _connection: object) -> None:
        self.commits += 1

    async def seen_state(self, order: OrderRecord) -> str:
        async with self.sessions() as session:
            return str(await session.scalar(select(OrderRow.state).where(OrderRow.id == order.id)))

    async def seen_events(self) -> list[str]:
        async with self.sessions() as session:
            return list(
                (await session.scalars(select(PositionEventRow.kind).order_by(PositionEventRow.id))).all()
            )

    async def seen_gates(self) -> list[str]:
        async with self.sessions() as session:
            return list(
                (await session.scalars(select(GateEvaluationRow.symbol).order_by(GateEvaluationRow.id))).all()
            )

    async def new_order(self) -> tuple[PositionRecord, OrderRecord]:
        position = await self.store.add_position(a_position(self.user_id))
        assert position.id is not None
        order = OrderRecord(
            position_id=position.id,
            user_id=self.user_id,
            symbol="SOL/USDT",
            role=OrderRole.LEG1,
            side=Side.BUY,
            type=OrderType.LIMIT,
            qty_base=Decimal(1),
            client_order_id="q-held-1",
            created_at=START,
            price=Decimal(100),
            state=OrderState.SUBMITTED,
        )
        return position, await self.store.add_order(order)

    def answer(
        self, position: PositionRecord, order: OrderRecord, kind: str
    ) -> Callable[[], Awaitable[None]]:
        async def write() -> None:
            await self.store.save_order(order)
            await self.store.record_event(position, kind, "answered", START)

        return write

    def blocked_gate(self, symbol: str) -> GateRecord:
        return GateRecord(self.user_id, "sandbox", symbol, False, "G13", "r/r", [], {}, START)


@pytest.fixture
async def journal(database_url: str) -> AsyncIterator[Journal]:
    engine = await migrated_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        yield Journal(engine, sessions, await register_user(sessions))
    finally:
        await engine.dispose()


async def test_held_writes_when_the_task_writes_again_then_committed_first_in_that_transaction(
    journal: Journal,
) -> None:
    store = journal.store
    position, order = await journal.new_order()
    async with store.deferred_writes():
        order.state = OrderState.OPEN
        await store.later(journal.answer(position, order, "leg1_placed"))
        await store.record_gate(journal.blocked_gate("LTC/USDT"))
        assert await journal.seen_state(order) == "submitted"  # held: nobody sees it yet
        assert await journal.seen_gates() == []
        before = journal.commits

        await store.record_event(position, "gate_passed", "next entry", START)  # the task's next write

        assert journal.commits == before + 1  # one transaction for the held writes and its own
        assert await journal.seen_state(order) == "open"
        assert await journal.seen_events() == ["leg1_placed", "gate_passed"]  # the journal's order kept
        assert await journal.seen_gates() == ["LTC/USDT"]
        order.state = OrderState.FILLED
        await store.later(journal.answer(position, order, "filled"))
    assert await journal.seen_state(order) == "filled"  # committed when the block ended
    assert await journal.seen_events() == ["leg1_placed", "gate_passed", "filled"]


async def test_held_writes_when_the_task_reads_then_committed_before_the_read(journal: Journal) -> None:
    store = journal.store
    position, order = await journal.new_order()
    assert position.id is not None
    async with store.deferred_writes():
        order.state = OrderState.OPEN
        await store.later(journal.answer(position, order, "leg1_placed"))

        (read,) = await store.orders_for(position.id)

        assert read.state is OrderState.OPEN
        assert await journal.seen_state(order) == "open"


async def test_held_writes_when_the_next_transaction_rolls_back_then_committed_when_the_block_ends(
    journal: Journal,
) -> None:
    store = journal.store
    position, order = await journal.new_order()
    with pytest.raises(RuntimeError, match="venue said no"):
        async with store.deferred_writes():
            order.state = OrderState.OPEN
            await store.later(journal.answer(position, order, "leg1_placed"))
            async with store.batch():
                await store.record_event(position, "doomed", "rolled back", START)
                raise RuntimeError("venue said no")
    assert await journal.seen_state(order) == "open"
    assert await journal.seen_events() == ["leg1_placed"]


async def test_later_when_no_block_then_written_at_once(journal: Journal) -> None:
    position, order = await journal.new_order()
    order.state = OrderState.OPEN

    await journal.store.later(journal.answer(position, order, "leg1_placed"))

    assert await journal.seen_state(order) == "open"
    assert await journal.seen_events() == ["leg1_placed"]
