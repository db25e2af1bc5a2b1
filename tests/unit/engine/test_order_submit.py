"""OrderManager.submit's `then`: the caller's journal lines run once whatever the venue answered, in
one transaction with the answer when no further venue call is needed."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
from tests.unit.engine.records import AdmitAll, position_record, resting

from qari.adapters.persistence.memory import MemoryTradingStore
from qari.core.clocks import ManualClock
from qari.core.errors import OutcomeUnknownError, RejectedError
from qari.core.orders import OrderReport, OrderRequest, OrderType, Side
from qari.engine.orders import OrderManager
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import PositionState
from qari.trading.records import OrderRecord, PositionRecord
from qari.trading.state_machine import InvalidTransition

AT = dt.datetime(2024, 8, 9, 15, 0, tzinfo=dt.UTC)


class BatchTracingStore(MemoryTradingStore):
    """Records each order save and whether it ran inside a batch."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.trace: list[str] = []

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        self.depth += 1
        self.trace.append("begin")
        try:
            yield
        finally:
            self.depth -= 1
            self.trace.append("commit")

    async def save_order(self, order: OrderRecord) -> None:
        self.trace.append(f"save {order.state.value}")
        await super().save_order(order)


class Venue:
    exchange_id = "sandbox"

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.creates = 0

    async def create_order(self, request: OrderRequest) -> OrderReport:
        self.creates += 1
        if self.error is not None:
            raise self.error
        return resting(request, "7")

    async def fetch_open_orders(
        self, symbol: str | None = None, *, stop_orders: bool = True
    ) -> list[OrderReport]:
        return []

    async def fetch_order_by_client_id(self, symbol: str, client_order_id: str) -> OrderReport | None:
        return None


async def _submit(venue: Venue) -> tuple[OrderRecord, BatchTracingStore]:
    store = BatchTracingStore()
    manager = OrderManager(venue, store, ManualClock(AT), guard=AdmitAll())  # type: ignore[arg-type]
    position = await store.add_position(position_record("SOL/USDT", PositionState.PENDING, AT))
    order = await manager.prepare(
        position, OrderRole.LEG1, Side.BUY, OrderType.LIMIT, Decimal(1), price=Decimal(100)
    )
    store.trace.clear()

    async def then() -> None:
        store.trace.append(f"then (in batch: {store.depth > 0})")

    return await manager.submit(order, then=then), store


@pytest.mark.parametrize(
    ("error", "state", "trace"),
    [
        (None, OrderState.OPEN, ["save submitted", "begin", "save open", "then (in batch: True)", "commit"]),
        (
            RejectedError("no"),
            OrderState.REJECTED,
            ["save submitted", "begin", "save rejected", "then (in batch: True)", "commit"],
        ),
        (
            OutcomeUnknownError("timeout"),
            OrderState.UNKNOWN,
            ["save submitted", "save unknown", "save unknown", "then (in batch: False)"],
        ),
    ],
)
async def test_submit_when_then_given_then_run_once_with_the_answer_and_sent_after_submitted_commit(
    error: Exception | None, state: OrderState, trace: list[str]
) -> None:
    # Arrange
    venue = Venue(error)

    # Act
    order, store = await _submit(venue)

    # Assert: SUBMITTED is committed on its own before the one create; the caller's lines follow
    assert venue.creates == 1
    assert order.state is state
    assert store.trace == trace


async def test_submit_when_prepared_as_submitted_then_sent_once_with_no_second_commit_before() -> None:
    # Arrange: the caller's batch journals the intent as SUBMITTED (the last write before the send)
    venue = Venue()
    store = BatchTracingStore()
    manager = OrderManager(venue, store, ManualClock(AT), guard=AdmitAll())  # type: ignore[arg-type]
    position = await store.add_position(position_record("SOL/USDT", PositionState.PENDING, AT))
    order = await manager.prepare(
        position, OrderRole.LEG1, Side.BUY, OrderType.LIMIT, Decimal(1), price=Decimal(100), submitted=True
    )
    assert position.id is not None
    assert [o.state for o in await store.orders_for(position.id)] == [OrderState.SUBMITTED]
    store.trace.clear()

    # Act
    placed = await manager.submit(order)

    # Assert: sent at once (nothing saved before the create), the answer saved; never sent twice
    assert venue.creates == 1 and placed.state is OrderState.OPEN
    assert store.trace == ["save open"]
    with pytest.raises(InvalidTransition):
        await manager.submit(placed)
    assert venue.creates == 1


async def test_prepare_when_position_is_new_then_inserted_with_its_first_order_counted() -> None:
    # Arrange
    store = BatchTracingStore()
    saved: list[int] = []
    original = store.save_position

    async def save_position(position: PositionRecord, **kwargs: object) -> None:
        saved.append(position.order_seq)
        await original(position, **kwargs)  # type: ignore[arg-type]

    store.save_position = save_position  # type: ignore[method-assign]
    manager = OrderManager(Venue(), store, ManualClock(AT), guard=AdmitAll())  # type: ignore[arg-type]
    position = position_record("SOL/USDT", PositionState.PENDING, AT)

    # Act: a new position's first order, then a second order of the journaled position
    first = await manager.prepare(position, OrderRole.LEG1, Side.BUY, OrderType.LIMIT, Decimal(1))
    second = await manager.prepare(position, OrderRole.STOP, Side.SELL, OrderType.STOP_MARKET, Decimal(1))

    # Assert: the insert carried the count; only the second order updated it
    assert position.id is not None
    journaled = await store.get_position(position.id)
    assert journaled is not None and journaled.order_seq == 2
    assert saved == [2]
    assert (first.client_order_id, second.client_order_id) == (
        f"q1x{position.id}xleg11",
        f"q1x{position.id}xstop2",
    )
