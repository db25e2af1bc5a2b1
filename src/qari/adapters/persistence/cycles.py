"""Cycle records and the latest scan view in the database (the engine's `CycleRecorder`).

One `engine_cycles` row per exchange per cycle, its scan results per symbol and every user's gate
outcome. Old cycles are pruned so the table stays small; `latest_scan` is what the dashboard reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence.db import transaction
from qari.adapters.persistence.live import note_change
from qari.adapters.persistence.tables.decisions import DecisionRow
from qari.adapters.persistence.tables.engine import EngineCycleRow, EngineGateOutcomeRow, EngineScanResultRow
from qari.analysis.layer import Vote
from qari.analysis.verdict import Verdict
from qari.core.time import Clock
from qari.ports import CycleReport, ExchangeScan

KEEP_CYCLES = 288  # one day of 5-minute cycles per exchange


def layers_agreed(verdict: Verdict) -> list[int]:
    return [r.layer for r in verdict.layers if r.vote == Vote.AGREE]


def candidate_dict(verdict: Verdict) -> dict[str, Any] | None:
    return None if verdict.candidate is None else verdict.candidate.to_dict()


class SqlCycleRecorder:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        keep: int = KEEP_CYCLES,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.keep = keep

    async def record(self, report: CycleReport) -> None:
        finished = self.clock.now()
        async with transaction(self.sessions) as session:
            for scan in report.scans:
                row = self._cycle_row(report, scan, finished)
                session.add(row)
                await session.flush()
                session.add_all(
                    EngineScanResultRow(
                        cycle_id=row.id,
                        symbol=v.symbol,
                        score=float(v.score),
                        agreeing=int(v.agreeing),
                        layers_agreed=layers_agreed(v),
                        vetoes=list(v.vetoes),
                        candidate=candidate_dict(v),
                    )
                    for v in scan.verdicts.values()
                )
                session.add_all(
                    EngineGateOutcomeRow(
                        cycle_id=row.id,
                        user_id=u.unit.user_id,
                        symbol=g.symbol,
                        passed=g.passed,
                        blocking_code=g.blocking_code,
                        reason=g.reason[:2000],
                    )
                    for u in report.units
                    if u.outcome and u.unit.exchange_id == scan.exchange_id
                    for g in u.outcome.gate
                )
                await self._prune(session, scan.exchange_id)
                for user_id in {
                    u.unit.user_id for u in report.units if u.unit.exchange_id == scan.exchange_id
                }:
                    note_change(session, user_id, "scan", exchange=scan.exchange_id)

    def _cycle_row(self, report: CycleReport, scan: ExchangeScan, finished: dt.datetime) -> EngineCycleRow:
        units = [u for u in report.units if u.unit.exchange_id == scan.exchange_id]
        return EngineCycleRow(
            exchange_id=scan.exchange_id,
            mode=report.mode,
            at=report.at,
            finished_at=finished,
            duration_ms=int(report.seconds * 1000),
            symbols=len(scan.verdicts),
            candidates=len(scan.candidates()),
            users=len(units),
            errors=sum(1 for u in units if u.error) + (1 if scan.error else 0),
            entries_allowed=scan.entries_allowed,
            health=scan.health,
            error=scan.error,
        )

    async def _prune(self, session: AsyncSession, exchange_id: str) -> None:
        cutoff = (
            await session.execute(
                select(EngineCycleRow.id)
                .where(EngineCycleRow.exchange_id == exchange_id)
                .order_by(EngineCycleRow.id.desc())
                .offset(self.keep)
                .limit(1)
            )
        ).scalar_one_or_none()
        if cutoff is None:
            return
        old = select(EngineCycleRow.id).where(
            EngineCycleRow.exchange_id == exchange_id, EngineCycleRow.id <= cutoff
        )
        await session.execute(delete(EngineGateOutcomeRow).where(EngineGateOutcomeRow.cycle_id.in_(old)))
        await session.execute(delete(EngineScanResultRow).where(EngineScanResultRow.cycle_id.in_(old)))
        await session.execute(
            delete(EngineCycleRow).where(
                EngineCycleRow.exchange_id == exchange_id, EngineCycleRow.id <= cutoff
            )
        )


@dataclass(frozen=True, slots=True)
class ScanRow:
    symbol: str
    score: float
    agreeing: int
    layers_agreed: list[int]
    vetoes: list[str]
    candidate: dict[str, Any] | None
    gate_passed: bool | None  # None: this user's gate did not evaluate the symbol
    blocking_code: str | None
    reason: str | None
    decision_id: int | None = None  # its decision record, where those are kept (replayable)


@dataclass(frozen=True, slots=True)
class LatestScan:
    cycle_id: int
    exchange_id: str
    at: dt.datetime
    finished_at: dt.datetime
    duration_ms: int
    mode: str
    health: str
    entries_allowed: bool
    error: str | None
    symbols: int
    candidates: int
    rows: list[ScanRow]  # best score first (ties: by symbol)


async def latest_scan(
    session: AsyncSession, exchange_id: str | None, user_id: int | None = None
) -> LatestScan | None:
    """The newest cycle of one exchange (`None`: of any exchange): every symbol's score and, for
    `user_id`, what the gate said; gate outcomes of other users are never read."""
    newest = select(EngineCycleRow).order_by(EngineCycleRow.at.desc(), EngineCycleRow.id.desc()).limit(1)
    if exchange_id is not None:
        newest = newest.where(EngineCycleRow.exchange_id == exchange_id)
    cycle = (await session.execute(newest)).scalars().first()
    if cycle is None:
        return None
    results = (
        await session.execute(
            select(EngineScanResultRow)
            .where(EngineScanResultRow.cycle_id == cycle.id)
            .order_by(EngineScanResultRow.score.desc(), EngineScanResultRow.symbol)
        )
    ).scalars()
    gates: dict[str, EngineGateOutcomeRow] = {}
    if user_id is not None:
        outcomes = await session.execute(
            select(EngineGateOutcomeRow).where(
                EngineGateOutcomeRow.cycle_id == cycle.id, EngineGateOutcomeRow.user_id == user_id
            )
        )
        gates = {g.symbol: g for g in outcomes.scalars()}
    decided = await session.execute(
        select(DecisionRow.symbol, DecisionRow.id).where(
            DecisionRow.exchange_id == cycle.exchange_id, DecisionRow.at == cycle.at
        )
    )
    decisions = {symbol: int(decision) for symbol, decision in decided}
    rows = [
        ScanRow(
            symbol=r.symbol,
            score=r.score,
            agreeing=r.agreeing,
            layers_agreed=list(r.layers_agreed or []),
            vetoes=list(r.vetoes or []),
            candidate=r.candidate,
            gate_passed=gates[r.symbol].passed if r.symbol in gates else None,
            blocking_code=gates[r.symbol].blocking_code if r.symbol in gates else None,
            reason=gates[r.symbol].reason if r.symbol in gates else None,
            decision_id=decisions.get(r.symbol),
        )
        for r in results
    ]
    return LatestScan(
        cycle_id=cycle.id,
        exchange_id=cycle.exchange_id,
        at=cycle.at,
        finished_at=cycle.finished_at,
        duration_ms=cycle.duration_ms,
        mode=cycle.mode,
        health=cycle.health,
        entries_allowed=cycle.entries_allowed,
        error=cycle.error,
        symbols=cycle.symbols,
        candidates=cycle.candidates,
        rows=rows,
    )
