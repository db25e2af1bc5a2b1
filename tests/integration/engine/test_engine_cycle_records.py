from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from qari.adapters.persistence import migrate
from qari.adapters.persistence.cycles import SqlCycleRecorder, latest_scan
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.core.clocks import ManualClock
from qari.ports import CycleReport, ExchangeScan, GateOutcome, UnitResult, UserOutcome, UserUnit

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


@dataclass
class _Layer:
    layer: int
    vote: str


@dataclass
class _Candidate:
    entry_low: Decimal = Decimal("99")
    entry_high: Decimal = Decimal("101")
    stop: Decimal = Decimal("85")
    pt1: Decimal = Decimal("120")
    pt2: Decimal = Decimal("140")


@dataclass
class _Verdict:
    symbol: str
    score: float
    agreeing: int
    vetoes: tuple[str, ...]
    candidate: Any
    layers: tuple[Any, ...]


def _report(at: dt.datetime) -> CycleReport:
    scan = ExchangeScan("bybit", at)
    scan.verdicts = {
        "BTC/USDT": _Verdict("BTC/USDT", 0.8, 3, (), _Candidate(), (_Layer(1, "agree"), _Layer(2, "agree"))),
        "ETH/USDT": _Verdict("ETH/USDT", 0.2, 1, ("htf_bearish",), None, (_Layer(1, "against"),)),
    }
    outcome = UserOutcome(gate=(GateOutcome("BTC/USDT", False, "G07", "free 3 USDT < needed 50 USDT"),))
    return CycleReport(at=at, mode="sandbox", scans=[scan], units=[UnitResult(UserUnit(7, "bybit"), outcome)])


async def test_recorder_when_cycles_recorded_then_latest_scan_shows_scores_and_gate_blocks(
    database_url: str,
) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    recorder = SqlCycleRecorder(sessions, ManualClock(T0), keep=2)
    try:
        for i in range(4):
            report = _report(T0 + dt.timedelta(minutes=5 * i))
            report.scans[0].health = "degraded" if i == 3 else "up"  # health travels as data
            await recorder.record(report)

        async with sessions() as session:
            view = await latest_scan(session, "bybit", user_id=7)
            other = await latest_scan(session, "bybit", user_id=8)
            from sqlalchemy import func, select

            from qari.adapters.persistence.tables.engine import EngineCycleRow

            kept = (await session.execute(select(func.count()).select_from(EngineCycleRow))).scalar_one()
    finally:
        await engine.dispose()

    assert view is not None and other is not None
    assert view.at == T0 + dt.timedelta(minutes=15)
    assert view.health == "degraded"  # what the report carried; the recorder asks no live tracker
    assert [r.symbol for r in view.rows] == ["BTC/USDT", "ETH/USDT"]
    btc = view.rows[0]
    assert btc.layers_agreed == [1, 2]
    assert btc.candidate is not None and btc.candidate["stop"] == "85"
    assert (btc.gate_passed, btc.blocking_code) == (False, "G07")
    assert view.rows[1].vetoes == ["htf_bearish"]
    assert other.rows[0].gate_passed is None
    assert kept == 2  # pruned to the newest `keep` cycles
