"""Journal records and venue answers the engine's unit tests share."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from qari.core.orders import OrderReport, OrderRequest, OrderStatus
from qari.engine.guard import OrderGuard
from qari.ports import ExchangeClient, TradingStore
from qari.trading.position import PositionState
from qari.trading.records import OrderRecord, PositionRecord


def position_record(
    symbol: str, state: PositionState, at: dt.datetime, opened_at: dt.datetime | None = None
) -> PositionRecord:
    """A long with legs expiring 4 h and 24 h after `at`: entry 100, stop 90, targets 110/120, 1 + 1
    legs, 10 USDT of risk; opened at `at` unless `opened_at` says otherwise."""
    return PositionRecord(
        user_id=1,
        exchange_id="sandbox",
        symbol=symbol,
        base=symbol.split("/")[0],
        state=state,
        entry_price=Decimal(100),
        structural_stop=Decimal(90),
        stop_price=Decimal(90),
        pt1=Decimal(110),
        pt2=Decimal(120),
        leg1_qty=Decimal(1),
        leg2_qty=Decimal(1),
        planned_r_quote=Decimal(10),
        fee_rate=Decimal("0.001"),
        leg1_expires_at=at + dt.timedelta(hours=4),
        leg2_expires_at=at + dt.timedelta(hours=24),
        opened_at=opened_at or at,
    )


def resting(request: OrderRequest, exchange_order_id: str) -> OrderReport:
    """The venue's answer to a create: the order rests, nothing filled."""
    return OrderReport(
        symbol=request.symbol,
        exchange_order_id=exchange_order_id,
        client_order_id=request.client_order_id,
        side=request.side,
        type=request.type,
        status=OrderStatus.OPEN,
        qty_base=request.qty_base,
        filled_base=Decimal(0),
        avg_price=None,
    )


class AdmitAll(OrderGuard):
    """For tests of the order mechanics alone (exact venue call traces, venues without market history):
    admits every order without reading the market. The guard's own tests use the real `OrderGuard`."""

    async def admit(
        self, order: OrderRecord, exchange: ExchangeClient, store: TradingStore, now: dt.datetime
    ) -> None:
        return None
