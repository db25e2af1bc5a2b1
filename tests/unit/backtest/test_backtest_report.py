from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from qari.backtest.metrics import EquityPoint, TradeRecord, summarise
from qari.backtest.outputs import write_outputs

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _trade() -> TradeRecord:
    return TradeRecord(
        symbol="ETH/USDT",
        entry_time=T0 + dt.timedelta(hours=2),
        exit_time=T0 + dt.timedelta(hours=9),
        entry_price=Decimal("2000.5"),
        exit_price=Decimal("2100"),
        quantity=Decimal("0.5"),
        initial_stop=Decimal("1700"),
        pt1=Decimal("2300"),
        pt2=Decimal("2700"),
        exit_reason="trailing_exit",
        pnl_usdt=Decimal("49.75"),
        r_multiple=Decimal("0.33"),
        fees_usdt=Decimal("2.05"),
        layers_agreed=(1, 3, 6),
        explanation="Price swept <liquidity> & reclaimed.",
    )


def test_write_outputs_when_trades_then_all_four_files_with_required_fields(tmp_path: Path) -> None:
    trades = [_trade()]
    equity = [EquityPoint(T0 + dt.timedelta(hours=h), Decimal(10000 + h), h > 2) for h in range(12)]
    prices = {
        "ETH/USDT": [(int((T0 + dt.timedelta(hours=h)).timestamp() * 1000), 2000.0 + h) for h in range(12)]
    }
    summary = summarise(trades, equity, start_balance=Decimal(10000), gate_blocks={"G09": 4})

    paths = write_outputs(tmp_path / "out", summary, trades, equity, prices)

    listed = json.loads(paths["trades_json"].read_text())
    assert isinstance(listed, list)
    required = {
        "symbol",
        "entry_time",
        "exit_time",
        "entry_price",
        "initial_stop",
        "pt1",
        "pt2",
        "exit_reason",
        "pnl_usdt",
        "r_multiple",
        "layers_agreed",
        "explanation",
    }
    assert required <= set(listed[0])
    assert listed[0]["layers_agreed"] == [1, 3, 6]
    rows = list(csv.DictReader(paths["trades_csv"].open()))
    assert rows[0]["entry_price"] == "2000.5"
    summary_json = json.loads(paths["summary"].read_text())
    assert summary_json["gate_blocks"] == {"G09": 4}
    report = paths["report"].read_text()
    assert "<svg" in report and "Equity curve" in report and "Drawdown" in report
    assert "&lt;liquidity&gt; &amp; reclaimed" in report
    assert "http://" not in report and "https://" not in report and "<script" not in report
