"""A position's quantities, costs and fees recomputed from its orders' cumulative fills."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.engine.records import position_record

from qari.core.orders import OrderType, Side
from qari.trading.exits import FillAmount, blended_entry
from qari.trading.order import OrderRole
from qari.trading.position import Position, PositionState
from qari.trading.records import OrderRecord, PositionRecord

AT = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
ZERO = Decimal(0)
# Decimals with up to 18 places and up to 12 integer digits: their products overflow 28 digits, so
# the context rounds, and only the same additions in the same order give the same totals.
amounts = st.decimals(min_value=0, max_value=10**12, places=18, allow_nan=False, allow_infinity=False)


def summed_one_at_a_time(position: PositionRecord, orders: list[OrderRecord]) -> PositionRecord:
    """The definition: each total summed on its own, blended entry from the buy fills."""
    buys = [o for o in orders if o.side is Side.BUY and o.filled_base > 0]
    sells = [o for o in orders if o.side is Side.SELL and o.filled_base > 0]
    position.bought_qty = sum((o.filled_base for o in buys), ZERO)
    position.sold_qty = sum((o.filled_base for o in sells), ZERO)
    position.fee_base = sum((o.fee for o in orders if o.fee_currency == position.base), ZERO)
    position.cost_quote = sum((o.filled_base * (o.avg_price or ZERO) for o in buys), ZERO)
    position.proceeds_quote = sum((o.filled_base * (o.avg_price or ZERO) for o in sells), ZERO)
    position.fees_quote = sum((o.fee for o in orders if o.fee_currency == "USDT"), ZERO) + sum(
        (o.fee * (o.avg_price or ZERO) for o in orders if o.fee_currency == position.base), ZERO
    )
    position.blended_entry = blended_entry(FillAmount(o.filled_base, o.avg_price or ZERO) for o in buys)
    return position


order_facts = st.tuples(
    st.sampled_from([Side.BUY, Side.SELL]),
    amounts,  # filled
    st.one_of(st.none(), amounts),  # average price
    amounts,  # fee
    st.sampled_from([None, "SOL", "USDT"]),  # fee currency
)


@settings(max_examples=300, deadline=None)
@given(st.lists(order_facts, max_size=8))
def test_recompute_when_any_orders_then_the_totals_each_summed_on_its_own(
    facts: list[tuple[Side, Decimal, Decimal | None, Decimal, str | None]],
) -> None:
    # Arrange
    orders = [
        OrderRecord(
            position_id=1,
            user_id=1,
            symbol="SOL/USDT",
            role=OrderRole.LEG1 if side is Side.BUY else OrderRole.EXIT,
            side=side,
            type=OrderType.LIMIT,
            qty_base=filled,
            client_order_id=f"q1-1-{n}",
            created_at=AT,
            filled_base=filled,
            avg_price=price,
            fee=fee,
            fee_currency=currency,
        )
        for n, (side, filled, price, fee, currency) in enumerate(facts)
    ]
    position = position_record("SOL/USDT", PositionState.OPEN, AT)
    expected = summed_one_at_a_time(position_record("SOL/USDT", PositionState.OPEN, AT), orders)

    # Act
    Position(position).recompute(orders)

    # Assert: equal, and equal in form (same exponent and sign of every Decimal)
    assert position == expected
    assert repr(position) == repr(expected)
