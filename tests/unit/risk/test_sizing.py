"""Sizing: Decimal, lot rounding, two legs, 1R, caps."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from qari.risk.sizing import AllocationMode, allocation_for, leg_meets_minimums, size_trade
from qari.risk.stops import one_r

from .builders import RULES


def test_size_trade_when_fixed_allocation_then_two_equal_lot_rounded_legs() -> None:
    plan = size_trade(
        mode=AllocationMode.FIXED,
        value=Decimal(200),
        free_quote=Decimal(1000),
        entry_price=Decimal("100"),
        stop_price=Decimal("85"),
        rules=RULES,
    )
    assert plan.leg1_qty == Decimal("1")
    assert plan.leg2_qty == Decimal("1")
    assert plan.risk_quote == plan.total_notional * Decimal("0.15")
    assert isinstance(plan.risk_quote, Decimal)


def test_size_trade_when_percent_allocation_then_share_of_free_balance() -> None:
    plan = size_trade(
        mode=AllocationMode.PERCENT,
        value=Decimal(10),
        free_quote=Decimal(500),
        entry_price=Decimal("10"),
        stop_price=Decimal("8"),
        rules=RULES,
        fee_rate=Decimal(0),
    )
    assert plan.total_notional == Decimal(50)
    assert plan.risk_quote == Decimal(10)


def test_allocation_when_fixed_exceeds_free_then_capped_with_fee_buffer() -> None:
    value = allocation_for(AllocationMode.FIXED, Decimal(500), Decimal(100), Decimal("0.001"))
    assert value * Decimal("1.001") <= Decimal(100)


def test_leg_meets_minimums_when_below_min_notional_then_reason() -> None:
    assert leg_meets_minimums(Decimal("0.01"), Decimal(100), RULES) is not None
    assert leg_meets_minimums(Decimal("0"), Decimal(100), RULES) == "quantity rounds to zero at the lot size"
    assert leg_meets_minimums(Decimal("0.1"), Decimal(100), RULES) is None


@given(
    value=st.decimals(min_value=1, max_value=100_000, places=2),
    free=st.decimals(min_value=0, max_value=100_000, places=2),
    entry=st.decimals(min_value="0.01", max_value=50_000, places=2),
    distance=st.decimals(min_value="0.10", max_value="0.30", places=3),
)
def test_size_trade_property_never_exceeds_free_or_planned_risk(
    value: Decimal, free: Decimal, entry: Decimal, distance: Decimal
) -> None:
    stop = entry * (1 - distance)
    plan = size_trade(
        mode=AllocationMode.FIXED,
        value=value,
        free_quote=free,
        entry_price=entry,
        stop_price=stop,
        rules=RULES,
    )
    assert plan.capital_needed <= free + Decimal("1e-18")
    assert plan.total_notional <= plan.allocation_quote
    assert plan.leg1_qty % RULES.lot_size == 0 and plan.leg2_qty % RULES.lot_size == 0
    assert plan.risk_quote <= one_r(plan.allocation_quote, entry, stop)
