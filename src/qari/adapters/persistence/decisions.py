"""Decision records in the journal's database, and `replay` of one by id (CLI and API).

`SqlDecisionRecorder` is a `CycleRecorder`: after the cycle's own record it stores one analysis
decision per exchange and symbol (`qari/decisions.py`), candle windows once per content hash, and
drops decisions older than the retention (and the windows no kept decision names). Verdicts with no
layer (a backtest's sweep ruled the step out: the analysis did not run) are not decisions.

Decision ids: `123` is analysis decision 123; `u45` is user decision 45, the journal's gate
evaluation 45 (its 16 results, the GateContext they read, the orders it led to).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence.db import transaction
from qari.adapters.persistence.learning import ActiveScoring, model_for
from qari.adapters.persistence.tables.decisions import (
    DecisionCandlesRow,
    DecisionRow,
    pack_json,
    unpack_json,
)
from qari.adapters.persistence.tables.trading import GateEvaluationRow, OrderRow, PositionRow
from qari.analysis.verdict import Verdict
from qari.analysis.weights import WeightSet
from qari.decisions import (
    AnalysisRecord,
    Replay,
    candle_refs,
    record_analysis,
    replay_analysis,
    replay_gate,
)
from qari.ports import CycleRecorder, CycleReport, ExchangeScan, NullRecorder

USE_LAG = dt.timedelta(hours=6)  # how stale a chunk's `last_used_at` may be


@dataclass(slots=True)
class DecisionSizes:
    """Bytes written per cycle (JSON + new candle windows), measured as the records are stored."""

    cycles: int = 0
    decisions: int = 0
    json_bytes: int = 0  # inputs and verdicts, compressed as stored
    candle_bytes: int = 0  # new windows only: those already stored are not written again
    candle_bytes_undeduplicated: int = 0
    per_cycle: deque[int] = field(default_factory=lambda: deque(maxlen=288))  # the latest cycles


class SqlDecisionRecorder:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        inner: CycleRecorder | None = None,
        method: str = "analyse",
        retention: dt.timedelta | None = dt.timedelta(days=7),
        weights: WeightSet | None = None,
        model: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.model = model  # the active Stage 3 version that scales the engine's scores, if any
        self.weights = weights  # what the engine analyses with (the registry's active version)
        self.inner = inner or NullRecorder()
        self.method = method
        self.retention = retention
        self.sizes = DecisionSizes()

    def __getattr__(self, name: str) -> Any:  # the inner recorder's own fields (a backtest's equity)
        return getattr(self.inner, name)

    async def record(self, report: CycleReport) -> None:
        await self.inner.record(report)
        for scan in report.scans:
            # hashing and compressing ~0.5 s for 136 pairs: off the event loop (zlib and hashlib
            # release the GIL), so the engine's other ticks are not held up
            records = await asyncio.to_thread(self._records, scan)
            if records:
                await self.store(scan.exchange_id, report.mode, scan.at, records)

    def _records(self, scan: ExchangeScan) -> list[AnalysisRecord]:
        return [
            record_analysis(
                scan.snapshots[symbol],
                cast(Verdict, verdict),
                method=self.method,
                weights=self.weights,
                model=self.model,
            )
            for symbol, verdict in scan.verdicts.items()
            if verdict.layers and symbol in scan.snapshots
        ]

    async def store(
        self, exchange_id: str, mode: str, at: dt.datetime, records: Sequence[AnalysisRecord]
    ) -> list[int]:
        blobs = {k: v for r in records for k, v in r.blobs.items()}
        packed = [(pack_json(r.inputs), pack_json(r.verdict)) for r in records]
        json_bytes = sum(len(i) + len(v) for i, v in packed)
        async with transaction(self.sessions) as session:
            known = set(
                (
                    await session.execute(
                        select(DecisionCandlesRow.hash).where(DecisionCandlesRow.hash.in_(list(blobs)))
                    )
                ).scalars()
            )
            if known and self.retention is not None:
                # Only chunks not marked for a while: rewriting every reused chunk's row each cycle
                # would copy it each time (MVCC); `prune` allows for the lag.
                await session.execute(
                    update(DecisionCandlesRow)
                    .where(DecisionCandlesRow.hash.in_(known), DecisionCandlesRow.last_used_at < at - USE_LAG)
                    .values(last_used_at=at)
                )
            new = {k: v for k, v in blobs.items() if k not in known}
            session.add_all(
                DecisionCandlesRow(hash=k, timeframe=tf, candles=n, data=data, last_used_at=at)
                for k, (tf, n, data) in new.items()
            )
            rows = [
                DecisionRow(
                    exchange_id=exchange_id,
                    symbol=r.symbol,
                    at=at,
                    mode=mode,
                    method=r.method,
                    engine_version=r.engine_version,
                    weights_version=r.weights_version,
                    score=float(r.verdict["score"]),
                    candidate=r.verdict["candidate"] is not None,
                    size_bytes=len(inputs) + len(verdict) + sum(len(b) for _, _, b in r.blobs.values()),
                    inputs=inputs,
                    verdict=verdict,
                )
                for r, (inputs, verdict) in zip(records, packed, strict=True)
            ]
            session.add_all(rows)
            await session.flush()
            if self.retention is not None:
                await prune(session, at - self.retention)
        written = json_bytes + sum(len(d) for _, _, d in new.values())
        s = self.sizes
        s.cycles += 1
        s.decisions += len(records)
        s.json_bytes += json_bytes
        s.candle_bytes += sum(len(d) for _, _, d in new.values())
        s.candle_bytes_undeduplicated += sum(len(b) for r in records for _, _, b in r.blobs.values())
        s.per_cycle.append(written)
        return [r.id for r in rows]


async def prune(session: AsyncSession, cutoff: dt.datetime) -> None:
    """Drop decisions older than `cutoff` and the candle chunks no kept decision names (a chunk's
    `last_used_at` is within `USE_LAG` of the newest decision naming it)."""
    await session.execute(delete(DecisionRow).where(DecisionRow.at < cutoff))
    await session.execute(
        delete(DecisionCandlesRow).where(DecisionCandlesRow.last_used_at < cutoff - USE_LAG)
    )


def with_decisions(
    sessions: async_sessionmaker[AsyncSession],
    recorder: CycleRecorder,
    *,
    retention_days: int,
    weights: WeightSet | None = None,
    model: str | None = None,
) -> CycleRecorder:
    """Decision records beside the cycle records, unless the retention is 0 days (off); `weights` (the
    registry's active version) is what they name, so a replay uses the same weights."""
    if retention_days <= 0:
        return recorder
    return SqlDecisionRecorder(
        sessions, inner=recorder, retention=dt.timedelta(days=retention_days), weights=weights, model=model
    )


async def refresh_scoring(scoring: ActiveScoring, recorder: CycleRecorder) -> None:
    """Each cycle: a newly activated (or rolled-back) version is analysed with and recorded from now on."""
    if await scoring.refresh() and isinstance(recorder, SqlDecisionRecorder):
        recorder.weights, recorder.model = scoring.weights, scoring.model_version


# ---------------------------------------------------------------------------------------- replay


class UnknownDecision(LookupError):
    """No such decision id (or not this user's)."""


@dataclass(frozen=True, slots=True)
class ReplayReport:
    replays: list[Replay]
    orders: list[str]  # client order ids the decision led to (user decisions)

    @property
    def identical(self) -> bool:
        return all(r.identical for r in self.replays)

    @property
    def differences(self) -> list[str]:
        return [f"{r.decision_id}: {d}" for r in self.replays for d in r.differences]


def parse_id(decision_id: str) -> tuple[str, int]:
    text = decision_id.strip().lower()
    kind = "gate" if text.startswith("u") else "analysis"
    digits = text[1:] if kind == "gate" else text
    if not digits.isdigit():
        raise UnknownDecision(decision_id)
    return kind, int(digits)


async def _replay_analysis_row(session: AsyncSession, row: DecisionRow) -> Replay:
    inputs = unpack_json(row.inputs)
    wanted = candle_refs(inputs)
    found = await session.execute(
        select(DecisionCandlesRow.hash, DecisionCandlesRow.data).where(DecisionCandlesRow.hash.in_(wanted))
    )
    blobs = {key: data for key, data in found}
    missing = wanted - set(blobs)
    if missing:
        return Replay(str(row.id), "analysis", [f"inputs: candle windows missing {sorted(missing)}"], [])
    version = inputs.get("model")
    return replay_analysis(
        str(row.id),
        method=row.method,
        engine=row.engine_version,
        weights=row.weights_version,
        inputs=inputs,
        verdict=unpack_json(row.verdict),
        blobs=blobs,
        model=None if version is None else await model_for(session, str(version)),
    )


async def replay(session: AsyncSession, decision_id: str, *, user_id: int | None = None) -> ReplayReport:
    """Re-run a stored decision from its stored inputs only; `user_id` limits user decisions to that
    user's own (an analysis decision is shared by everyone on the exchange)."""
    kind, number = parse_id(decision_id)
    if kind == "analysis":
        row = await session.get(DecisionRow, number)
        if row is None:
            raise UnknownDecision(decision_id)
        return ReplayReport([await _replay_analysis_row(session, row)], [])
    gate = await session.get(GateEvaluationRow, number)
    if gate is None or (user_id is not None and gate.user_id != user_id):
        raise UnknownDecision(decision_id)
    if gate.inputs is None:
        missing = Replay(f"u{number}", "gate", ["inputs: not recorded (before decision records)"], [])
        return ReplayReport([missing], [])
    replays = [replay_gate(f"u{number}", gate.inputs, gate.results)]
    analysis_at = gate.inputs.get("analysis_at")
    if analysis_at:
        source = (
            await session.execute(
                select(DecisionRow).where(
                    DecisionRow.exchange_id == gate.exchange_id,
                    DecisionRow.symbol == gate.symbol,
                    DecisionRow.at == dt.datetime.fromisoformat(analysis_at),
                )
            )
        ).scalar_one_or_none()
        if source is not None:
            replays.insert(0, await _replay_analysis_row(session, source))
    orders = (
        await session.execute(
            select(OrderRow.client_order_id)
            .join(PositionRow, PositionRow.id == OrderRow.position_id)
            .where(PositionRow.gate_evaluation_id == number)
            .order_by(OrderRow.id)
        )
    ).scalars()
    return ReplayReport(replays, list(orders))
