from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from qari.services.portfolio import SAMPLE_SPACING, SAMPLES_KEPT, PortfolioCache, equity_curve, mark_position

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


def test_equity_curve_when_no_close_yet_then_follows_the_marked_value_from_the_first_entry() -> None:
    opened = NOW - dt.timedelta(hours=3)
    samples = [
        (opened - dt.timedelta(hours=1), Decimal("999")),  # before the entry: the flat start covers it
        (NOW - dt.timedelta(hours=2), Decimal("1010")),
        (NOW - dt.timedelta(hours=1), Decimal("990")),
    ]
    points = equity_curve(
        [], Decimal("1030"), NOW, unrealised=Decimal("30"), first_open=opened, samples=samples
    )
    assert [(p["time"], p["value"]) for p in points] == [
        (opened, "1000"),
        (NOW - dt.timedelta(hours=2), "1010"),
        (NOW - dt.timedelta(hours=1), "990"),
        (NOW, "1030"),
    ]


def test_portfolio_cache_samples_are_thinned_and_bounded() -> None:
    cache = PortfolioCache()
    for second in range(0, 3600 * 10, 5):
        kept = cache.sample(1, NOW + dt.timedelta(seconds=second), Decimal(second))
    assert len(kept) == SAMPLES_KEPT
    assert all(b[0] - a[0] == SAMPLE_SPACING for a, b in itertools.pairwise(kept))
    assert kept[-1][1] == Decimal(3600 * 10 - 30)
