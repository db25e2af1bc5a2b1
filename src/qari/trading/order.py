"""Order state machine: NEW → SUBMITTED → OPEN → PARTIALLY_FILLED → FILLED | CANCELED | REJECTED,
with UNKNOWN for "sent, no answer" and ABSENT for "looked up, never reached the venue".

UNKNOWN is resolved only by looking the client order id up on the venue, never by sending again.
Every move of an order's state goes through `apply_event` (a venue report: `apply_report`; an order
gone from the venue's open list: `apply_gone`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from qari.core.orders import Fill, OrderReport, OrderStatus
from qari.trading.state_machine import InvalidTransition, TransitionTable

if TYPE_CHECKING:
    from qari.trading.records import OrderRecord


class OrderState(StrEnum):
    NEW = "new"  # persisted with its client order id, not yet sent
    SUBMITTED = "submitted"  # about to be / being sent
    UNKNOWN = "unknown"  # sent, outcome unknown (timeout, connection error, crash)
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    ABSENT = "absent"  # looked up after an unknown outcome: the venue never received it


class OrderEvent(StrEnum):
    SUBMIT = "submit"
    TIME_OUT = "time_out"
    ACCEPT = "accept"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    CANCEL = "cancel"
    REJECT = "reject"
    NOT_FOUND = "not_found"


class OrderRole(StrEnum):
    LEG1 = "leg1"
    LEG2 = "leg2"
    STOP = "stop"
    PT1 = "pt1"
    PT2 = "pt2"
    EXIT = "exit"  # market exit by the watchdog or on close-out


TERMINAL = frozenset({OrderState.FILLED, OrderState.CANCELED, OrderState.REJECTED, OrderState.ABSENT})
LIVE = frozenset({OrderState.OPEN, OrderState.PARTIALLY_FILLED})
UNRESOLVED = frozenset({OrderState.NEW, OrderState.SUBMITTED, OrderState.UNKNOWN})

_S = OrderState
_E = OrderEvent


def _build() -> dict[tuple[OrderState, OrderEvent], OrderState]:
    table = {
        (_S.NEW, _E.SUBMIT): _S.SUBMITTED,
        (_S.NEW, _E.NOT_FOUND): _S.ABSENT,
        (_S.SUBMITTED, _E.TIME_OUT): _S.UNKNOWN,
        (_S.SUBMITTED, _E.NOT_FOUND): _S.ABSENT,
        (_S.UNKNOWN, _E.NOT_FOUND): _S.ABSENT,
        (_S.UNKNOWN, _E.TIME_OUT): _S.UNKNOWN,
        (_S.OPEN, _E.ACCEPT): _S.OPEN,
        (_S.PARTIALLY_FILLED, _E.PARTIAL_FILL): _S.PARTIALLY_FILLED,
        (_S.OPEN, _E.PARTIAL_FILL): _S.PARTIALLY_FILLED,
        (_S.OPEN, _E.FILL): _S.FILLED,
        (_S.PARTIALLY_FILLED, _E.FILL): _S.FILLED,
        (_S.OPEN, _E.CANCEL): _S.CANCELED,
        (_S.PARTIALLY_FILLED, _E.CANCEL): _S.CANCELED,
        (_S.FILLED, _E.FILL): _S.FILLED,
        (_S.CANCELED, _E.CANCEL): _S.CANCELED,
    }
    for origin in (_S.SUBMITTED, _S.UNKNOWN):
        table[(origin, _E.ACCEPT)] = _S.OPEN
        table[(origin, _E.PARTIAL_FILL)] = _S.PARTIALLY_FILLED
        table[(origin, _E.FILL)] = _S.FILLED
        table[(origin, _E.CANCEL)] = _S.CANCELED
        table[(origin, _E.REJECT)] = _S.REJECTED
    return table


ORDER_TRANSITIONS: TransitionTable[OrderState, OrderEvent] = TransitionTable("order", _build())

_STATUS_EVENT = {
    OrderStatus.OPEN: OrderEvent.ACCEPT,
    OrderStatus.UNTRIGGERED: OrderEvent.ACCEPT,
    OrderStatus.PARTIALLY_FILLED: OrderEvent.PARTIAL_FILL,
    OrderStatus.FILLED: OrderEvent.FILL,
    OrderStatus.CANCELED: OrderEvent.CANCEL,
    OrderStatus.REJECTED: OrderEvent.REJECT,
}


def event_for_report(report: OrderReport) -> OrderEvent:
    """A canceled order with fills is still a cancel; its filled quantity travels with the report."""
    return _STATUS_EVENT[report.status]


def apply_event(order: OrderRecord, event: OrderEvent) -> bool:
    """Move `order` by `event` through the table; False (nothing changed) when the move is illegal."""
    try:
        order.state = ORDER_TRANSITIONS.next(order.state, event)
    except InvalidTransition:
        return False
    return True


def order_facts(order: OrderRecord) -> tuple[object, ...]:
    """What the venue can tell about an order; a report that changes none of it is nothing new."""
    return (
        order.state,
        order.exchange_order_id,
        order.filled_base,
        order.avg_price,
        order.fee,
        order.fee_currency,
    )


def apply_report(order: OrderRecord, report: OrderReport, now: dt.datetime) -> bool:
    """Move `order` to the venue's view; a stale report (e.g. "open" after "filled") changes nothing.
    True when the report was taken; `updated_at` moves only when it told something new."""
    before = order_facts(order)
    if not apply_event(order, event_for_report(report)):
        return False
    order.exchange_order_id = report.exchange_order_id
    order.filled_base = max(order.filled_base, report.filled_base)
    if report.avg_price is not None and report.avg_price > 0:
        order.avg_price = report.avg_price
    if report.fee:
        order.fee = report.fee
        order.fee_currency = report.fee_currency
    if order_facts(order) != before or order.updated_at is None:
        order.updated_at = now
    return True


GONE_NOTE = "no longer open on the venue"


def apply_gone(order: OrderRecord, fills: Sequence[Fill], now: dt.datetime) -> bool:
    """A live order neither open nor among the venue's orders: its `fills` (the venue's executions of
    it) complete what it filled, then it is FILLED if that covers it, else CANCELED. True if it moved.
    """
    filled = sum((f.qty_base for f in fills), Decimal(0))
    if filled > order.filled_base:
        order.filled_base = filled
        order.avg_price = sum((f.qty_base * f.price for f in fills), Decimal(0)) / filled
        order.fee = sum((f.fee for f in fills), Decimal(0))
        order.fee_currency = fills[0].fee_currency
    event = OrderEvent.FILL if order.filled_base >= order.qty_base else OrderEvent.CANCEL
    if not apply_event(order, event):
        return False
    if event is OrderEvent.CANCEL:
        order.note = GONE_NOTE
    order.updated_at = now
    return True
