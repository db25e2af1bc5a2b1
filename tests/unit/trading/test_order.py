"""Order machine, table-driven: every (state, event) pair is either listed or raises."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from qari.core.orders import Fill, OrderReport, OrderStatus, OrderType, Side
from qari.trading.order import (
    ORDER_TRANSITIONS,
    OrderEvent,
    OrderRole,
    OrderState,
    apply_event,
    apply_gone,
    apply_report,
)
from qari.trading.records import OrderRecord
from qari.trading.state_machine import InvalidTransition

S, E = OrderState, OrderEvent
T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
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


def _record(state: OrderState) -> OrderRecord:
    return OrderRecord(
        position_id=1,
        user_id=7,
        symbol="SOL/USDT",
        role=OrderRole.LEG1,
        side=Side.BUY,
        type=OrderType.LIMIT,
        qty_base=Decimal(1),
        client_order_id="c1",
        created_at=T0,
        state=state,
        updated_at=T0,
    )


def _report(status: OrderStatus, filled: str, avg: str | None = "100") -> OrderReport:
    return OrderReport(
        "SOL/USDT",
        "x9",
        "c1",
        Side.BUY,
        OrderType.LIMIT,
        status,
        Decimal(1),
        Decimal(filled),
        None if avg is None else Decimal(avg),
    )


def test_apply_event_when_filled_then_cannot_be_rejected_or_reopened() -> None:
    order = _record(S.FILLED)
    assert not apply_event(order, E.REJECT)
    assert not apply_event(order, E.ACCEPT)
    assert order.state is S.FILLED


def test_apply_report_when_unknown_resolved_by_lookup_then_takes_venue_state() -> None:
    order = _record(S.UNKNOWN)
    later = T0 + dt.timedelta(seconds=5)

    assert apply_report(order, _report(OrderStatus.PARTIALLY_FILLED, "0.4"), later)

    assert order.state is S.PARTIALLY_FILLED
    assert order.filled_base == Decimal("0.4")
    assert order.exchange_order_id == "x9"
    assert order.updated_at == later


def test_apply_report_when_stale_or_repeated_then_nothing_moves() -> None:
    order = _record(S.OPEN)
    assert apply_report(order, _report(OrderStatus.FILLED, "1"), T0 + dt.timedelta(seconds=1))
    filled_at = order.updated_at

    stale = apply_report(order, _report(OrderStatus.OPEN, "0", avg=None), T0 + dt.timedelta(seconds=2))
    repeated = apply_report(order, _report(OrderStatus.FILLED, "1"), T0 + dt.timedelta(seconds=3))

    assert not stale and repeated
    assert order.state is S.FILLED and order.filled_base == Decimal(1)
    assert order.updated_at == filled_at  # the repeat told nothing new


def _fill(qty: str, price: str, fee: str) -> Fill:
    return Fill(
        "SOL/USDT", f"t{qty}", "ex-1", None, Side.BUY, Decimal(price), Decimal(qty), Decimal(fee), "USDT", 0
    )


def test_apply_gone_when_fills_fall_short_then_canceled_with_the_fills_booked() -> None:
    order = _record(S.OPEN)  # 1 SOL wanted
    fills = [_fill("0.3", "100", "0.03"), _fill("0.3", "102", "0.0306")]

    assert apply_gone(order, fills, T0)

    assert order.state is S.CANCELED
    assert order.filled_base == Decimal("0.6")
    assert order.avg_price == Decimal(101)
    assert order.fee == Decimal("0.0606")
    assert order.note == "no longer open on the venue"
    assert order.updated_at == T0


def test_apply_gone_when_fills_cover_the_order_then_filled() -> None:
    order = _record(S.PARTIALLY_FILLED)

    assert apply_gone(order, [_fill("1", "100", "0.1")], T0)

    assert order.state is S.FILLED
    assert order.note == ""
