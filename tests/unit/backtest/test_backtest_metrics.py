from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from qari.backtest.metrics import (
    EquityPoint,
    TradeRecord,
    drawdown_series,
    max_drawdown,
    sharpe_ratio,
    summarise,
)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def a_trade(pnl: str, r: str, *, reason: str = "pt2", fees: str = "1") -> TradeRecord:
    return TradeRecord(
        symbol="BTC/USDT",
        entry_time=T0,
        exit_time=T0 + dt.timedelta(hours=5),
        entry_price=Decimal("100"),
        exit_price=Decimal("110"),
        quantity=Decimal("1"),
        initial_stop=Decimal("85"),
        pt1=Decimal("115"),
        pt2=Decimal("130"),
        exit_reason=reason,
        pnl_usdt=Decimal(pnl),
        r_multiple=Decimal(r),
        fees_usdt=Decimal(fees),
        layers_agreed=(1, 2, 3),
        explanation="Bullish structure.",
    )


def test_summarise_when_wins_and_losses_then_rates_and_profit_factor_are_exact() -> None:
    trades = [a_trade("30", "2"), a_trade("15", "1"), a_trade("-15", "-1", reason="stop_loss")]
    equity = [
        EquityPoint(T0 + dt.timedelta(days=i), Decimal(v), i % 2 == 0) for i, v in enumerate([1000, 1030])
    ]

    summary = summarise(trades, equity, start_balance=Decimal(1000), gate_blocks=["G07", "G07", "G13"])

    assert summary.trades == 3
    assert summary.wins == 2
    assert abs(summary.win_rate - 2 / 3) < 1e-12
    assert abs(summary.average_r - 2 / 3) < 1e-12
    assert summary.profit_factor == 3.0
    assert summary.net_pnl_usdt == Decimal(30)
    assert summary.fees_usdt == Decimal(3)
    assert summary.gate_blocks == {"G07": 2, "G13": 1}
    assert summary.exit_reasons == {"pt2": 2, "stop_loss": 1}
    assert summary.exposure_pct == 50.0
    assert summary.as_dict()["profit_factor"] == 3.0


def test_summarise_when_no_losses_then_profit_factor_is_none() -> None:
    summary = summarise([a_trade("10", "1")], [], start_balance=Decimal(100))

    assert summary.profit_factor is None
    assert summary.end_equity_usdt == Decimal(110)


def test_max_drawdown_when_peak_then_trough_then_fraction_of_peak() -> None:
    pct, usdt = max_drawdown([Decimal(100), Decimal(120), Decimal(90), Decimal(130)])

    assert usdt == Decimal(30)
    assert abs(pct - 0.25) < 1e-12


@given(st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=60))
def test_drawdown_series_when_any_curve_then_between_zero_and_max(values: list[int]) -> None:
    equity = [Decimal(v) for v in values]

    series = drawdown_series(equity)
    worst, _ = max_drawdown(equity)

    assert all(0.0 <= d < 1.0 for d in series)
    assert abs(max(series) - worst) < 1e-12


def test_sharpe_when_constant_returns_then_zero_and_when_positive_then_positive() -> None:
    assert sharpe_ratio([0.01, 0.01, 0.01]) == 0.0
    assert sharpe_ratio([0.01, 0.02, 0.0, 0.015]) > 0
