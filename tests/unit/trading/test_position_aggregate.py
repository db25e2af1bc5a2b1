"""`Position`: the blended entry, P&L, exit reason and state moves the engine asks it for."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from tests.unit.engine.records import position_record

from qari.core.instrument import InstrumentRules
from qari.core.orders import OrderType, Side
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import (
    ExitReason,
    Leg2Event,
    Leg2State,
    Position,
    PositionEvent,
    PositionState,
)
from qari.trading.records import OrderRecord, PositionRecord
from qari.trading.state_machine import InvalidTransition

AT = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
D = Decimal
RULES = InstrumentRules("SOL/USDT", "SOL", "USDT", D("0.01"), D("0.001"), D("0.001"), D(5))
SIDES = {
    OrderRole.LEG1: Side.BUY,
    OrderRole.LEG2: Side.BUY,
    OrderRole.STOP: Side.SELL,
    OrderRole.PT1: Side.SELL,
    OrderRole.PT2: Side.SELL,
    OrderRole.EXIT: Side.SELL,
}


def filled(
    role: OrderRole, qty: str, price: str, fee: str, currency: str = "USDT", minute: int = 0
) -> OrderRecord:
    return OrderRecord(
        position_id=1,
        user_id=1,
        symbol="SOL/USDT",
        role=role,
        side=SIDES[role],
        type=OrderType.LIMIT,
        qty_base=D(qty),
        client_order_id=f"q1-1-{role.value}-{minute}",
        created_at=AT,
        state=OrderState.FILLED,
        filled_base=D(qty),
        avg_price=D(price),
        fee=D(fee),
        fee_currency=currency,
        updated_at=AT + dt.timedelta(minutes=minute),
    )


def position(state: PositionState = PositionState.OPEN) -> PositionRecord:
    """Entry 100, stop 90, PT1 110, PT2 120, 1R = 10 USDT, fee rate 0.1 %."""
    return position_record("SOL/USDT", state, AT)


def test_recompute_when_two_legs_then_entry_blended_by_quantity_and_coin_fee_held_back() -> None:
    # Arrange: Leg 1 1 SOL at 100 (fee 0.001 SOL), Leg 2 0.5 SOL at 106 (fee 0.053 USDT)
    record = position()
    orders = [
        filled(OrderRole.LEG1, "1", "100", "0.001", "SOL", 1),
        filled(OrderRole.LEG2, "0.5", "106", "0.053", "USDT", 2),
    ]

    # Act
    changed = Position(record).recompute(orders)

    # Assert
    assert changed
    assert record.bought_qty == D("1.5")
    assert record.cost_quote == D(153)
    assert record.blended_entry == D(102)
    assert record.fee_base == D("0.001")
    assert record.held_qty == D("1.499")
    assert record.fees_quote == D("0.153")  # 0.053 USDT + 0.001 SOL at its fill price 100
    assert Position(record).recompute(orders) is False  # a replay changes nothing


def test_close_when_three_exits_then_pnl_is_proceeds_less_cost_less_quote_fees() -> None:
    # Arrange: 1 SOL at 100; PT1 0.4 at 110, PT2 0.3 at 120, trailed stop 0.3 at 115
    record = position(PositionState.PT2_TAKEN)
    orders = [
        filled(OrderRole.LEG1, "1", "100", "0.1", minute=1),
        filled(OrderRole.PT1, "0.4", "110", "0.044", minute=2),
        filled(OrderRole.PT2, "0.3", "120", "0.036", minute=3),
        filled(OrderRole.STOP, "0.3", "115", "0.0345", minute=4),
    ]
    aggregate = Position(record)
    aggregate.recompute(orders)

    # Act
    reason = aggregate.exit_reason(orders)
    pnl, r = aggregate.close(reason, orders, AT)

    # Assert: proceeds 44 + 36 + 34.5 = 114.5; cost 100; USDT fees 0.2145
    assert reason is ExitReason.TRAILING_STOP
    assert pnl == D("14.2855") == record.realised_pnl_quote
    assert r == D("1.4286") == record.realised_r  # 1R = 10 USDT, to 4 places
    assert record.state is PositionState.CLOSED
    assert record.exit_reason == "trailing_stop"
    assert record.closed_at == AT


def test_close_when_stop_hit_before_pt1_then_stop_loss_of_about_one_r() -> None:
    record = position(PositionState.OPEN)
    orders = [
        filled(OrderRole.LEG1, "1", "100", "0.1", minute=1),
        filled(OrderRole.STOP, "1", "90", "0.09", minute=2),
    ]
    aggregate = Position(record)
    aggregate.recompute(orders)

    reason = aggregate.exit_reason(orders)
    pnl, r = aggregate.close(reason, orders, AT)

    assert reason is ExitReason.STOP_LOSS
    assert pnl == D("-10.19")
    assert r == D("-1.019")
    assert record.state is PositionState.CLOSED


def test_close_when_buy_fee_taken_in_coin_then_it_is_not_charged_again() -> None:
    # 1 SOL at 100 with a 0.001 SOL fee: 0.999 SOL held, sold at 110 for a 0.10989 USDT fee
    record = position(PositionState.PT1_TAKEN)
    orders = [
        filled(OrderRole.LEG1, "1", "100", "0.001", "SOL", 1),
        filled(OrderRole.EXIT, "0.999", "110", "0.10989", minute=2),
    ]
    aggregate = Position(record)
    aggregate.recompute(orders)

    pnl, _ = aggregate.close(ExitReason.MANUAL, orders, AT)

    assert pnl == D("9.78011")  # 109.89 - 100 - 0.10989: the coin fee already shrank what was sold
    assert record.state is PositionState.CLOSED
    assert record.exit_reason == "manual"


@pytest.mark.parametrize(
    ("state", "sells", "expected"),
    [
        (PositionState.PT1_TAKEN, [(OrderRole.PT1, 2), (OrderRole.STOP, 3)], ExitReason.BREAK_EVEN),
        (PositionState.PT2_TAKEN, [(OrderRole.STOP, 2), (OrderRole.PT2, 3)], ExitReason.PT2_AND_TRAIL),
        (PositionState.OPEN, [(OrderRole.EXIT, 2)], ExitReason.DUST),
        (PositionState.OPEN, [], ExitReason.DUST),
    ],
)
def test_exit_reason_when_sells_given_then_named_by_the_last_filled_sell(
    state: PositionState, sells: list[tuple[OrderRole, int]], expected: ExitReason
) -> None:
    orders = [filled(OrderRole.LEG1, "1", "100", "0.1", minute=1)]
    orders += [filled(role, "0.5", "105", "0", minute=minute) for role, minute in sells]

    assert Position(position(state)).exit_reason(orders) is expected


def test_take_target_when_pt1_then_stop_to_break_even_and_never_lowered() -> None:
    record = position(PositionState.OPEN)
    Position(record).recompute([filled(OrderRole.LEG1, "1", "100", "0.1")])

    Position(record).take_target(OrderRole.PT1, RULES)

    assert record.state is PositionState.PT1_TAKEN
    assert record.stop_price == D("100.20")  # entry plus two fees of 0.1 %
    higher = position(PositionState.OPEN)
    higher.stop_price = D(101)
    Position(higher).recompute([filled(OrderRole.LEG1, "1", "100", "0.1")])
    Position(higher).take_target(OrderRole.PT1, RULES)
    assert higher.stop_price == D(101)


def test_end_unfilled_when_leg1_expires_then_expired_and_leg2_released() -> None:
    record = position(PositionState.PENDING)

    Position(record).end_unfilled(PositionEvent.LEG1_EXPIRED, AT)

    assert record.state is PositionState.EXPIRED
    assert record.leg2_state is Leg2State.RELEASED
    assert record.exit_reason == "leg1_expired"
    assert record.closed_at == AT


def test_release_leg2_when_already_filled_then_left_filled() -> None:
    record = position(PositionState.OPEN)
    aggregate = Position(record)
    aggregate.apply_leg2(Leg2Event.SEND)
    aggregate.apply_leg2(Leg2Event.FILL)

    aggregate.release_leg2()

    assert record.leg2_state is Leg2State.FILLED


def test_apply_when_move_not_in_table_then_refused_and_state_kept() -> None:
    record = position(PositionState.PENDING)

    with pytest.raises(InvalidTransition):
        Position(record).apply(PositionEvent.PT1_HIT)
    assert record.state is PositionState.PENDING


def test_unrealised_pnl_when_coin_fee_taken_then_not_charged_twice() -> None:
    # 1 SOL at 100 with 0.001 SOL fee: 0.999 SOL held, marked at 110
    record = position(PositionState.OPEN)
    Position(record).recompute([filled(OrderRole.LEG1, "1", "100", "0.001", "SOL")])

    assert Position(record).unrealised_pnl(D(110)) == D("9.89")
