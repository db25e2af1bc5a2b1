"""Plain records the engine reads and writes through the `TradingStore` port.

They mirror the journal tables but carry core types (Decimal, enums, aware datetimes), so the
engine never sees a database row and the store never sees engine logic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from qari.core.orders import OrderType, Side
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import Leg2State, PositionState

ZERO = Decimal(0)


@dataclass(slots=True)
class PositionRecord:
    user_id: int
    exchange_id: str
    symbol: str
    base: str
    state: PositionState
    entry_price: Decimal  # Leg 1 limit price
    structural_stop: Decimal
    stop_price: Decimal  # the protective stop as it should rest on the venue now
    pt1: Decimal
    pt2: Decimal
    leg1_qty: Decimal
    leg2_qty: Decimal  # reserved
    planned_r_quote: Decimal  # 1R in USDT, fixed at entry
    fee_rate: Decimal
    leg1_expires_at: dt.datetime
    leg2_expires_at: dt.datetime
    opened_at: dt.datetime
    id: int | None = None
    leg2_state: Leg2State = Leg2State.RESERVED
    bought_qty: Decimal = ZERO
    sold_qty: Decimal = ZERO
    fee_base: Decimal = ZERO  # fees charged in the base asset (reduce what can be sold)
    fees_quote: Decimal = ZERO  # fees in USDT, plus base fees valued at their fill price
    cost_quote: Decimal = ZERO
    proceeds_quote: Decimal = ZERO
    blended_entry: Decimal | None = None
    entered_qty_at_pt1: Decimal | None = None
    realised_pnl_quote: Decimal | None = None
    realised_r: Decimal | None = None
    exit_reason: str | None = None
    order_seq: int = 0
    stop_mode: str = "native"  # "native": resting venue stop; "watchdog": server-side only
    explanation: str = ""
    layer_results: list[dict[str, Any]] = field(default_factory=list)
    gate_evaluation_id: int | None = None
    closed_at: dt.datetime | None = None
    close_requested_at: dt.datetime | None = None  # the user asked to close now, at market

    @property
    def held_qty(self) -> Decimal:
        """Base quantity the position still owns: bought, less base-asset fees, less sold."""
        return max(ZERO, self.bought_qty - self.fee_base - self.sold_qty)

    @property
    def is_open(self) -> bool:
        return self.state in (
            PositionState.PENDING,
            PositionState.OPEN,
            PositionState.PT1_TAKEN,
            PositionState.PT2_TAKEN,
        )


@dataclass(slots=True)
class OrderRecord:
    position_id: int
    user_id: int
    symbol: str
    role: OrderRole
    side: Side
    type: OrderType
    qty_base: Decimal
    client_order_id: str
    created_at: dt.datetime
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    state: OrderState = OrderState.NEW
    exchange_order_id: str | None = None
    filled_base: Decimal = ZERO
    avg_price: Decimal | None = None
    fee: Decimal = ZERO
    fee_currency: str | None = None
    note: str = ""
    id: int | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class FillRecord:
    position_id: int
    order_id: int
    user_id: int
    symbol: str
    trade_id: str
    side: Side
    price: Decimal
    qty_base: Decimal
    fee: Decimal
    fee_currency: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class GateRecord:
    user_id: int
    exchange_id: str
    symbol: str
    passed: bool
    blocking_code: str | None
    reason: str
    results: list[dict[str, Any]]
    candidate: dict[str, Any]
    at: dt.datetime
    inputs: dict[str, Any] | None = None  # what the checks read, for replay (`qari/decisions.py`)
