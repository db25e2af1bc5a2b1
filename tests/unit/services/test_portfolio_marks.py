from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from qari.services.portfolio import equity_curve, mark_position

POSITION = {"symbol": "SOL/USDT", "qty": "2", "blended_entry": "100", "one_r_usdt": "30"}
NOW = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)


def test_mark_position_when_price_up_then_unrealised_pnl_in_usdt_and_r() -> None:
    marked = mark_position(POSITION, Decimal("115"))
    assert marked["value_usdt"] == "230"
    assert marked["unrealised_pnl_usdt"] == "30"
    assert marked["unrealised_r"] == "1"


def test_mark_position_when_no_price_then_unknown_not_zero() -> None:
    marked = mark_position(POSITION, None)
    assert marked["unrealised_pnl_usdt"] is None and marked["value_usdt"] is None


@given(st.lists(st.decimals(min_value=-500, max_value=500, places=2), max_size=20))
def test_equity_curve_ends_at_current_value_and_steps_by_each_trade(pnls: list[Decimal]) -> None:
    closed = [
        {"closed_at": NOW - dt.timedelta(hours=len(pnls) - i), "pnl_usdt": str(p)} for i, p in enumerate(pnls)
    ]
    points = equity_curve(closed, Decimal("1000"), NOW)
    assert Decimal(points[-1]["value"]) == Decimal("1000")
    values = [Decimal(p["value"]) for p in points]
    if pnls:
        assert [b - a for a, b in itertools.pairwise(values[:-1])] == pnls
        assert values[0] == Decimal("1000") - sum(pnls)
