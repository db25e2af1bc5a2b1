"""Order state machine: NEW → SUBMITTED → OPEN → PARTIALLY_FILLED → FILLED | CANCELED | REJECTED,
with UNKNOWN for "sent, no answer" and ABSENT for "looked up, never reached the venue".

UNKNOWN is resolved only by looking the client order id up on the venue, never by sending again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from qari.core.orders import OrderReport, OrderStatus, OrderType, Side
from qari.trading.state_machine import TransitionTable


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


@dataclass(frozen=True, slots=True)
class Order:
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    role: OrderRole
    qty_base: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    state: OrderState = OrderState.NEW
    exchange_order_id: str | None = None
    filled_base: Decimal = Decimal(0)
    avg_price: Decimal | None = None

    def apply(self, event: OrderEvent) -> Order:
        return replace(self, state=ORDER_TRANSITIONS.next(self.state, event))

    def apply_report(self, report: OrderReport) -> Order:
        moved = self.apply(event_for_report(report))
        return replace(
            moved,
            exchange_order_id=report.exchange_order_id,
            filled_base=max(self.filled_base, report.filled_base),
            avg_price=report.avg_price if report.avg_price is not None else self.avg_price,
        )

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def is_live(self) -> bool:
        return self.state in LIVE
