from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

import numpy as np

from qari.analysis.verdict import Candidate, Verdict
from qari.core.clocks import ManualClock
from qari.core.errors import ExchangeUnavailableError, InvalidCredentialsError
from qari.core.market import CandleSeries, MarketSnapshot
from qari.engine.cycle import EngineCycle, Timeouts
from qari.engine.health import ExchangeState
from qari.ports import ExchangeScan, GateOutcome, UserOutcome, UserUnit

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


def _snapshot(symbol: str) -> MarketSnapshot:
    series = CandleSeries.from_rows(symbol, "15m", [[0, 1, 1, 1, 1, 1]])
    return MarketSnapshot(symbol=symbol, at_ms=0, series={"15m": series})


_CANDIDATE = Candidate(
    "X/USDT",
    Decimal(99),
    Decimal(101),
    Decimal(85),
    Decimal(120),
    Decimal(140),
    "",
    layers_agreed=(),
    score=0.0,
)


def _verdict(symbol: str, score: float) -> Verdict:
    return Verdict(symbol, 0, (), score, 3, (), replace(_CANDIDATE, symbol=symbol))


class _Feed:
    def __init__(self, exchange_id: str, symbols: Sequence[str], fail: bool = False) -> None:
        self.exchange_id = exchange_id
        self.symbols = symbols
        self.fail = fail
        self.refreshes = 0

    async def refresh(self, at: dt.datetime) -> Mapping[str, MarketSnapshot]:
        self.refreshes += 1
        if self.fail:
            raise ExchangeUnavailableError("maintenance", code="maintenance")
        return {s: _snapshot(s) for s in self.symbols}


class _Directory:
    def __init__(self, units: Mapping[str, list[UserUnit]]) -> None:
        self._units = units

    async def units(self, exchange_id: str) -> Sequence[UserUnit]:
        return self._units.get(exchange_id, [])


class _Executor:
    """Per-user behaviour by user id: 1 slow, 2 broken key, others gate every candidate."""

    def __init__(self) -> None:
        self.entered: list[int] = []
        self.managed: list[int] = []

    async def enter(self, unit: UserUnit, scan: ExchangeScan) -> UserOutcome:
        if unit.user_id == 1:
            await asyncio.sleep(10)
        if unit.user_id == 2:
            raise InvalidCredentialsError("key revoked")
        self.entered.append(unit.user_id)
        gate = tuple(GateOutcome(v.symbol, False, "G07", "no capital") for v in scan.candidates())
        return UserOutcome(gate=gate)

    async def manage(self, unit: UserUnit, at: dt.datetime) -> None:
        self.managed.append(unit.user_id)


def _analyse(snapshot: MarketSnapshot) -> Verdict:
    return _verdict(snapshot.symbol, float(np.float64(len(snapshot.symbol))))


async def test_cycle_when_one_user_is_slow_and_one_has_a_broken_key_then_others_still_trade() -> None:
    feed = _Feed("bybit", ["BTC/USDT", "ETH/USDT"])
    units = [UserUnit(i, "bybit") for i in range(1, 6)]
    executor = _Executor()
    cycle = EngineCycle(
        mode="sandbox",
        clock=ManualClock(T0),
        feeds=[feed],
        analyse=_analyse,
        directory=_Directory({"bybit": units}),
        executor=executor,
        timeouts=Timeouts(user_seconds=0.2),
    )

    report = await cycle.run_cycle(T0)

    assert feed.refreshes == 1  # once per exchange, not per user
    assert sorted(executor.entered) == [3, 4, 5]
    errors = {u.unit.user_id: u.error for u in report.units if u.error}
    assert errors == {1: "timeout", 2: "InvalidCredentialsError"}
    assert report.gate_blocks() == {"G07": 6}
    assert cycle.metrics.counter("gate_blocked", {"check": "G07"}) == 6
    assert cycle.health.state("bybit") is ExchangeState.UP  # a user's key is not the venue's health


async def test_cycle_when_exchange_in_maintenance_then_entries_pause_but_management_runs() -> None:
    sick = _Feed("bybit", ["BTC/USDT"], fail=True)
    well = _Feed("binance", ["BTC/USDT"])
    executor = _Executor()
    cycle = EngineCycle(
        mode="live",
        clock=ManualClock(T0),
        feeds=[sick, well],
        analyse=_analyse,
        directory=_Directory({"bybit": [UserUnit(10, "bybit")], "binance": [UserUnit(20, "binance")]}),
        executor=executor,
    )

    report = await cycle.run_cycle(T0)
    await cycle.run_manage(T0)

    assert cycle.health.state("bybit") is ExchangeState.MAINTENANCE
    # the report carries each venue's health as data, so a recorder needs no live tracker
    assert {s.exchange_id: s.health for s in report.scans} == {"bybit": "maintenance", "binance": "up"}
    assert executor.entered == [20]
    assert sorted(executor.managed) == [10, 20]
