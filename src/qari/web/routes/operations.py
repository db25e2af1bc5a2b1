"""API route: the operator's operations view of the scaled-out engine (docs/deploy.md): the workers
(alive from their heartbeats, busy or idle; with the units they recorded), the broker queue's depth,
the last cycle's per-role timings."""

from __future__ import annotations

import asyncio
import datetime as dt
import os

from fastapi import APIRouter
from sqlalchemy import Float, Integer, cast, func, select

from qari.adapters.persistence.tables.engine import EngineCycleRow, EngineUnitRow, EngineWorkerRow
from qari.adapters.tasks import HEARTBEAT_SECONDS
from qari.web.deps import ClockDep, OperatorUser, SessionDep
from qari.web.schemas.operations import (
    LastCycle,
    OperationsPublic,
    QueueDepthPublic,
    SchedulerTiming,
    WorkerSeen,
    WorkerTiming,
)

router = APIRouter(prefix="/admin", tags=["admin"])

WINDOW = dt.timedelta(minutes=15)  # units counted over this long
# A worker is alive while its heartbeat (adapters/tasks.py) is this recent: a few beats' worth.
ALIVE = 4 * dt.timedelta(seconds=HEARTBEAT_SECONDS)
BROKER_TIMEOUT = 3.0


@router.get("/operations", response_model=OperationsPublic)
async def operations(operator: OperatorUser, session: SessionDep, clock: ClockDep) -> OperationsPublic:
    """Workers alive now (their heartbeat: busy or idle) or seen working in the last 15 minutes (gone
    since), the queue's depth on the broker, the last cycle's timings
    (the scheduler's per exchange, the workers' per unit)."""
    broker_url = os.environ.get("QARI_BROKER_URL", "")
    worker = EngineUnitRow.outcome["worker"].as_string()
    seconds = cast(EngineUnitRow.outcome["seconds"].as_float(), Float)
    since = clock.now() - WINDOW
    rows = await session.execute(
        select(worker, func.count(), func.max(EngineUnitRow.finished_at), func.avg(seconds))
        .where(EngineUnitRow.finished_at >= since, worker.is_not(None))
        .group_by(worker)
        .order_by(worker)
    )
    units = {name: (int(n), last, _round(mean)) for name, n, last, mean in rows.all()}
    alive_since = clock.now() - ALIVE
    beats = {
        w.name: w
        for w in await session.scalars(select(EngineWorkerRow).where(EngineWorkerRow.seen_at >= alive_since))
    }
    workers = []
    for name in sorted(units.keys() | beats.keys()):
        count, last, mean = units.get(name, (0, None, None))
        beat = beats.get(name)
        seen = max(t for t in (last, beat.seen_at if beat else None) if t is not None)
        state = "gone" if beat is None else "busy" if beat.in_flight else "idle"
        workers.append(
            WorkerSeen(
                name=name,
                state=state,
                units=count,
                in_flight=beat.in_flight if beat else None,
                threads=beat.threads if beat else None,
                last_seen=seen,
                mean_seconds=mean,
            )
        )
    return OperationsPublic(
        task_engine=bool(broker_url),
        window_minutes=int(WINDOW.total_seconds() // 60),
        workers=workers,
        queue=await _queue(broker_url) if broker_url else None,
        last_cycle=await _last_cycle(session),
    )


async def _last_cycle(session: SessionDep) -> LastCycle | None:
    at = await session.scalar(select(func.max(EngineCycleRow.at)))
    if at is None:
        return None
    cycles = (await session.scalars(select(EngineCycleRow).where(EngineCycleRow.at == at))).all()
    seconds = cast(EngineUnitRow.outcome["seconds"].as_float(), Float)
    units, workers, mean, most = (
        await session.execute(
            select(
                func.count(),
                cast(func.count(func.distinct(EngineUnitRow.outcome["worker"].as_string())), Integer),
                func.avg(seconds),
                func.max(seconds),
            ).where(EngineUnitRow.kind == "enter", EngineUnitRow.cycle_at == at)
        )
    ).one()
    return LastCycle(
        at=at,
        scheduler=[
            SchedulerTiming(
                exchange_id=c.exchange_id, seconds=c.duration_ms / 1000, users=c.users, errors=c.errors
            )
            for c in sorted(cycles, key=lambda c: c.exchange_id)
        ],
        workers=WorkerTiming(
            units=int(units), workers=int(workers or 0), mean_seconds=_round(mean), max_seconds=_round(most)
        ),
    )


async def _queue(broker_url: str) -> QueueDepthPublic:
    from qari.adapters.tasks import QUEUE, make_broker, queue_depth

    def read() -> QueueDepthPublic:
        broker = make_broker(broker_url)
        try:
            depth = queue_depth(broker, QUEUE)
        finally:
            broker.close()
        return QueueDepthPublic(
            queue=QUEUE, reachable=True, ready=depth.ready, delayed=depth.delayed, dead=depth.dead
        )

    try:
        return await asyncio.wait_for(asyncio.to_thread(read), BROKER_TIMEOUT)
    except Exception as e:  # the broker clients' connection errors differ; the page says unreachable
        return QueueDepthPublic(queue=QUEUE, reachable=False, error=type(e).__name__)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)
