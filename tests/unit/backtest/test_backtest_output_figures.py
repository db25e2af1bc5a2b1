"""What a person reads from a backtest: market change, open positions marked to market, prices at the
market's precision, gate blocks by name; the same figures in every place they are shown."""

from __future__ import annotations

import datetime as dt
import html
import json
from decimal import Decimal
from pathlib import Path

import pytest

from qari.backtest.metrics import EquityPoint, OpenPosition, TradeRecord, market_change, summarise
from qari.backtest.outputs import write_outputs
from qari.backtest.report import headline_text, to_step
from qari.risk.checks import CHECK_TITLES

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
D = Decimal


def test_market_change_when_two_pairs_then_mean_of_their_changes() -> None:
    # freqtrade: mean over pairs of (last close / first close - 1)
    assert market_change({"A/USDT": (100.0, 110.0), "B/USDT": (50.0, 60.0)}) == pytest.approx(0.15)
    assert market_change({"A/USDT": (100.0, 80.0)}) == pytest.approx(-0.2)
    assert market_change({}) is None


def test_to_step_when_price_and_quantity_then_rounded_to_the_market_step() -> None:
    assert to_step(D("42.88301213818860877684407096"), "0.01") == "42.88"
    assert to_step(D("0.48805"), "0.0001") == "0.4881"
    assert to_step(D("843.91"), "1") == "844"
    assert to_step(D("101.3"), "0.5") == "101.5"
    assert to_step(D("1.5"), None) == "1.5"


def test_gate_titles_when_read_then_every_check_has_words() -> None:
    assert len(CHECK_TITLES) == 16
    assert CHECK_TITLES["G15"] == "Stop-loss in band" and CHECK_TITLES["G06"] == "Within tier capacity"


def test_outputs_when_a_position_is_open_at_the_end_then_listed_marked_and_figures_agree(
    tmp_path: Path,
) -> None:
    trade = TradeRecord(
        symbol="INJ/USDT",
        entry_time=T0,
        exit_time=T0 + dt.timedelta(hours=5),
        entry_price=D("42.88301213818860877684407096"),
        exit_price=D("38.31930000"),
        quantity=D("21.42"),
        initial_stop=D("38.3232"),
        pt1=D("48.8794"),
        pt2=D("52.6847"),
        exit_reason="stop_loss",
        pnl_usdt=D("-99.4176949814"),
        r_multiple=D("-1.0179"),
        fees_usdt=D("1.7385105014"),
        layers_agreed=(1, 3, 9),
        explanation="why",
    )
    still_open = OpenPosition(
        symbol="XRP/USDT",
        entry_time=T0 + dt.timedelta(hours=6),
        entry_price=D("0.48805012"),
        quantity=D("843.9123"),
        stop=D("0.417962"),
        mark_price=D("0.5006"),
        unrealised_pnl_usdt=D("10.1912345"),
    )
    equity = [EquityPoint(T0, D(10000), False), EquityPoint(T0 + dt.timedelta(hours=7), D("9910.77"), True)]
    summary = summarise(
        [trade],
        equity,
        start_balance=D(10000),
        gate_blocks={"G15": 2},
        market_change_pct=1.0345,
        open_positions=[still_open],
        gate_block_names=CHECK_TITLES,
        precision={
            "INJ/USDT": {"price": "0.001", "amount": "0.01"},
            "XRP/USDT": {"price": "0.0001", "amount": "0.1"},
        },
    )
    paths = write_outputs(tmp_path, summary, [trade], equity, {})

    data = json.loads(paths["summary"].read_text())
    assert data["open_positions"][0]["symbol"] == "XRP/USDT"
    assert data["open_positions"][0]["mark_price"] == "0.5006"
    assert data["unrealised_pnl_usdt"] == "10.1912345"
    assert data["market_change_pct"] == 1.0345
    assert data["gate_block_names"] == {"G15": "Stop-loss in band"}
    line = headline_text(summary)
    assert "Net P&L (closed) -99.42 USDT" in line and "Unrealised P&L 10.19 USDT" in line
    assert "Open at end 1" in line and "Market change +1.03 %" in line and "End equity 9,910.77 USDT" in line
    report = html.unescape(paths["report"].read_text())
    assert line in report
    # 10000 - 99.42 + 10.19 + 0.00 = 9910.77: every USDT of the end equity accounted for
    assert data["other_equity_usdt"] == "-0.0035395186"
    assert (
        "End equity 9,910.77 = start 10,000.00 + closed -99.42 + open 10.19 + coin dust and rounding 0.00"
        in report
    )
    assert (
        "<td>XRP/USDT</td>" in report
        and "<td>0.4881</td><td>843.9</td><td>0.4180</td><td>0.5006</td>" in report
    )
    assert "<td>42.883</td><td>38.319</td><td>38.323</td>" in report  # INJ prices at its 0.001 tick
    assert "G15 — Stop-loss in band" in report
    assert "42.88301213818860877684407096" not in report
    # trades.csv keeps the engine's exact figures (another issue needs it byte-identical)
    assert "42.88301213818860877684407096" in paths["trades_csv"].read_text()
