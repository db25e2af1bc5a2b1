"""The files a backtest leaves in `--out DIR`: trades.csv, trades.json, summary.json, report.html."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from qari.backtest.metrics import EquityPoint, Summary, TradeRecord
from qari.backtest.report import PriceSeries, render_report

TRADE_COLUMNS = (
    "symbol",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "quantity",
    "initial_stop",
    "pt1",
    "pt2",
    "exit_reason",
    "pnl_usdt",
    "r_multiple",
    "fees_usdt",
    "layers_agreed",
    "legs_filled",
    "explanation",
)


def write_trades_csv(path: Path, trades: Sequence[TradeRecord]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=TRADE_COLUMNS)
        writer.writeheader()
        for trade in trades:
            row = trade.as_dict()
            row["layers_agreed"] = " ".join(str(n) for n in trade.layers_agreed)
            writer.writerow(row)


def write_json(path: Path, payload: object) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_outputs(
    out_dir: Path,
    summary: Summary,
    trades: Sequence[TradeRecord],
    equity: Sequence[EquityPoint],
    prices: Mapping[str, PriceSeries],
) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "trades_csv": out_dir / "trades.csv",
        "trades_json": out_dir / "trades.json",
        "summary": out_dir / "summary.json",
        "report": out_dir / "report.html",
    }
    write_trades_csv(paths["trades_csv"], trades)
    write_json(paths["trades_json"], [t.as_dict() for t in trades])
    write_json(paths["summary"], summary.as_dict())
    paths["report"].write_text(render_report(summary, trades, equity, prices), encoding="utf-8")
    return paths
