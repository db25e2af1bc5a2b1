"""Backtest runner: the engine built in backtest mode, driven over history by its own scheduler."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from qari.backtest.data import BacktestError, load_market_data
from qari.backtest.metrics import EquityPoint, Summary, TradeRecord
from qari.backtest.outputs import write_outputs
from qari.backtest.report import PriceSeries

__all__ = ["BacktestConfig", "BacktestError", "BacktestResult", "run_backtest"]


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    data_dir: Path
    pairs: tuple[str, ...] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    balance: Decimal = Decimal(10000)


@dataclass(slots=True)
class BacktestResult:
    summary: Summary
    trades: list[TradeRecord]
    equity: list[EquityPoint]
    prices: dict[str, PriceSeries] = field(default_factory=dict)

    def write(self, out_dir: Path) -> dict[str, Path]:
        return write_outputs(out_dir, self.summary, self.trades, self.equity, self.prices)


async def run_backtest(config: BacktestConfig, *, progress: bool = False) -> BacktestResult:
    load_market_data(config.data_dir, config.pairs, config.start, config.end)
    raise BacktestError(
        "the backtest engine is not wired yet (waiting for execution and the simulated venue)"
    )
