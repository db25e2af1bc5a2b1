"""OrderManager.refresh_all reads the venue's conditional (stop) orders only when a stop is pending."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from tests.unit.engine.records import AdmitAll, position_record, resting

from qari.adapters.persistence.memory import MemoryTradingStore
from qari.core.clocks import ManualClock
from qari.core.orders import OrderReport, OrderRequest, OrderType, Side
from qari.engine.orders import OrderManager
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import PositionState

AT = dt.datetime(2024, 8, 9, 15, 0, tzinfo=dt.UTC)


class Venue:
    """Lists what it was given as open; conditional orders only when they are asked for."""

    exchange_id = "sandbox"

    def __init__(self) -> None:
        self.open: list[OrderReport] = []
        self.asked: list[bool] = []
        self.lookups = 0

    async def create_order(self, request: OrderRequest) -> OrderReport:
        report = resting(request, str(len(self.open) + 1))
        self.open.append(report)
        return report

    async def fetch_open_orders(
        self, symbol: str | None = None, *, stop_orders: bool = True
    ) -> list[OrderReport]:
        self.asked.append(stop_orders)
        return [r for r in self.open if stop_orders or r.type is not OrderType.STOP_MARKET]

    async def fetch_order_by_client_id(self, symbol: str, client_order_id: str) -> OrderReport | None:
        self.lookups += 1
        return next((r for r in self.open if r.client_order_id == client_order_id), None)


@pytest.mark.parametrize(("with_stop", "asked"), [(False, [False]), (True, [True])])
async def test_refresh_all_when_no_stop_pending_then_plain_orders_read_alone(
    with_stop: bool, asked: list[bool]
) -> None:
    # Arrange: a resting Leg 1 (and a resting stop)
    venue = Venue()
    store = MemoryTradingStore()
    manager = OrderManager(venue, store, ManualClock(AT), guard=AdmitAll())  # type: ignore[arg-type]
    position = await store.add_position(position_record("SOL/USDT", PositionState.PENDING, AT))
    await manager.place(position, OrderRole.LEG1, Side.BUY, OrderType.LIMIT, Decimal(1), price=Decimal(99))
    if with_stop:
        await manager.place(
            position, OrderRole.STOP, Side.SELL, OrderType.STOP_MARKET, Decimal(1), trigger_price=Decimal(90)
        )
    assert position.id is not None
    orders = await store.orders_for(position.id)

    # Act
    await manager.refresh_all(orders)

    # Assert: one open-orders read, with conditional orders only when a stop is pending; every pending
    # order was in it (none looked up one by one)
    assert venue.asked == asked
    assert venue.lookups == 0
    assert [o.state for o in orders] == [OrderState.OPEN] * len(orders)
