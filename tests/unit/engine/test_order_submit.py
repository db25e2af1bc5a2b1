"""OrderManager.submit's `then`: the caller's journal lines run once whatever the venue answered, in
one transaction with the answer when no further venue call is needed."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from qari.adapters.persistence.memory import MemoryTradingStore
from qari.core.clocks import ManualClock
from qari.core.errors import OutcomeUnknownError, RejectedError
from qari.core.orders import OrderReport, OrderRequest, OrderStatus, OrderType, Side
from qari.engine.orders import OrderManager
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import PositionState
from qari.trading.records import OrderRecord, PositionRecord

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
        return OrderReport(
            symbol=request.symbol,
            exchange_order_id="7",
            client_order_id=request.client_order_id,
            side=request.side,
            type=request.type,
            status=OrderStatus.OPEN,
            qty_base=request.qty_base,
            filled_base=Decimal(0),
            avg_price=None,
        )

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        return []

    async def fetch_order_by_client_id(self, symbol: str, client_order_id: str) -> OrderReport | None:
        return None


async def _submit(venue: Venue) -> tuple[OrderRecord, BatchTracingStore]:
    store = BatchTracingStore()
    manager = OrderManager(venue, store, ManualClock(AT))  # type: ignore[arg-type]
    position = await store.add_position(
        PositionRecord(
            user_id=1,
            exchange_id="sandbox",
            symbol="SOL/USDT",
            base="SOL",
            state=PositionState.PENDING,
            entry_price=Decimal(100),
            structural_stop=Decimal(90),
            stop_price=Decimal(90),
            pt1=Decimal(110),
            pt2=Decimal(120),
            leg1_qty=Decimal(1),
            leg2_qty=Decimal(1),
            planned_r_quote=Decimal(10),
            fee_rate=Decimal("0.001"),
            leg1_expires_at=AT + dt.timedelta(hours=4),
            leg2_expires_at=AT + dt.timedelta(hours=24),
            opened_at=AT,
        )
    )
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
