"""Order machine, table-driven: every (state, event) pair is either listed or raises."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from qari.core.orders import OrderReport, OrderStatus, OrderType, Side
from qari.trading.order import ORDER_TRANSITIONS, Order, OrderEvent, OrderRole, OrderState
from qari.trading.state_machine import InvalidTransition

S, E = OrderState, OrderEvent
LEGAL = {
    (S.NEW, E.SUBMIT): S.SUBMITTED,
    (S.NEW, E.NOT_FOUND): S.ABSENT,
    (S.SUBMITTED, E.TIME_OUT): S.UNKNOWN,
    (S.SUBMITTED, E.NOT_FOUND): S.ABSENT,
    (S.SUBMITTED, E.ACCEPT): S.OPEN,
    (S.SUBMITTED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.SUBMITTED, E.FILL): S.FILLED,
    (S.SUBMITTED, E.CANCEL): S.CANCELED,
    (S.SUBMITTED, E.REJECT): S.REJECTED,
    (S.UNKNOWN, E.TIME_OUT): S.UNKNOWN,
    (S.UNKNOWN, E.NOT_FOUND): S.ABSENT,
    (S.UNKNOWN, E.ACCEPT): S.OPEN,
    (S.UNKNOWN, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.UNKNOWN, E.FILL): S.FILLED,
    (S.UNKNOWN, E.CANCEL): S.CANCELED,
    (S.UNKNOWN, E.REJECT): S.REJECTED,
    (S.OPEN, E.ACCEPT): S.OPEN,
    (S.OPEN, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.OPEN, E.FILL): S.FILLED,
    (S.OPEN, E.CANCEL): S.CANCELED,
    (S.PARTIALLY_FILLED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, E.CANCEL): S.CANCELED,
    (S.FILLED, E.FILL): S.FILLED,
    (S.CANCELED, E.CANCEL): S.CANCELED,
}


@pytest.mark.parametrize(("state", "event"), list(itertools.product(OrderState, OrderEvent)))
def test_order_transition_when_pair_given_then_table_decides(state: OrderState, event: OrderEvent) -> None:
    if (state, event) in LEGAL:
        assert ORDER_TRANSITIONS.next(state, event) is LEGAL[(state, event)]
    else:
        with pytest.raises(InvalidTransition):
            ORDER_TRANSITIONS.next(state, event)


def test_order_when_filled_then_cannot_be_rejected_or_reopened() -> None:
    order = Order("c1", "SOL/USDT", Side.BUY, OrderType.LIMIT, OrderRole.LEG1, Decimal(1), state=S.FILLED)
    with pytest.raises(InvalidTransition):
        order.apply(E.REJECT)
    with pytest.raises(InvalidTransition):
        order.apply(E.ACCEPT)


def test_order_apply_report_when_unknown_resolved_by_lookup_then_takes_venue_state() -> None:
    order = Order("c1", "SOL/USDT", Side.BUY, OrderType.LIMIT, OrderRole.LEG1, Decimal(1), state=S.UNKNOWN)
    report = OrderReport(
        "SOL/USDT",
        "x9",
        "c1",
        Side.BUY,
        OrderType.LIMIT,
        OrderStatus.PARTIALLY_FILLED,
        Decimal(1),
        Decimal("0.4"),
        Decimal(100),
    )
    resolved = order.apply_report(report)
    assert resolved.state is S.PARTIALLY_FILLED
    assert resolved.filled_base == Decimal("0.4")
    assert resolved.exchange_order_id == "x9"
