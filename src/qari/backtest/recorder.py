"""The backtest's `CycleRecorder`: where live writes cycle rows, a backtest keeps its equity curve
and the gate-block counts per check, read straight from the in-process venue."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from qari.backtest.metrics import EquityPoint
from qari.ports import CycleReport

QUOTE = "USDT"
DUST_USDT = Decimal(1)


class VenueView(Protocol):
    def balances(self, account_id: str) -> dict[str, tuple[Decimal, Decimal]]: ...

    def price(self, symbol: str) -> Decimal: ...


class BacktestRecorder:
    def __init__(self, venue: VenueView, account_id: str) -> None:
        self.venue = venue
        self.account_id = account_id
        self.equity: list[EquityPoint] = []
        self.gate_blocks: Counter[str] = Counter()
        self.gate_passed = 0
        self.cycles = 0
        self.on_cycle: Callable[[dt.datetime], None] | None = None

    def mark(self) -> tuple[Decimal, bool]:
        """Account value in USDT (free + locked, coins at the venue's price) and whether any coin is held."""
        total = Decimal(0)
        exposed = False
        for coin, (free, locked) in self.venue.balances(self.account_id).items():
            amount = free + locked
            if coin == QUOTE:
                total += amount
                continue
            if amount <= 0:
                continue
            value = amount * self.venue.price(f"{coin}/{QUOTE}")
            total += value
            exposed = exposed or value >= DUST_USDT
        return total, exposed

    async def record(self, report: CycleReport) -> None:
        self.cycles += 1
        self.gate_blocks.update(report.gate_blocks())
        self.gate_passed += sum(1 for u in report.units if u.outcome for g in u.outcome.gate if g.passed)
        equity, exposed = self.mark()
        self.equity.append(EquityPoint(report.at, equity, exposed))
        if self.on_cycle is not None:
            self.on_cycle(report.at)
