from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from qari.adapters.persistence import migrate
from qari.adapters.persistence.cycles import SqlCycleRecorder, latest_scan
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.analysis.layer import LayerResult, Vote
from qari.analysis.verdict import Candidate, Verdict
from qari.core.clocks import ManualClock
from qari.ports import CycleReport, ExchangeScan, GateOutcome, UnitResult, UserOutcome, UserUnit

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


_CANDIDATE = Candidate(
    "BTC/USDT",
    Decimal("99"),
    Decimal("101"),
    Decimal("85"),
    Decimal("120"),
    Decimal("140"),
    "",
    layers_agreed=(1, 2),
    score=0.8,
)


AGREE = Vote.AGREE


def _layer(code: int, vote: Vote) -> LayerResult:
    return LayerResult(code, f"L{code}", vote, 1.0)


def _report(at: dt.datetime) -> CycleReport:
    scan = ExchangeScan("bybit", at)
    scan.verdicts = {
        "BTC/USDT": Verdict(
            "BTC/USDT", 0, (_layer(1, Vote.AGREE), _layer(2, Vote.AGREE)), 0.8, 3, (), _CANDIDATE
        ),
        "ETH/USDT": Verdict("ETH/USDT", 0, (_layer(1, Vote.AGAINST),), 0.2, 1, ("htf_bearish",), None),
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
