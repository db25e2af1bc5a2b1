"""Upkeep of the task engine's records (`adapters/tasks.py`): old unit records and stored scans are
pruned, and a unit message that waited in the queue past its deadline is recorded, not run late."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import insert, select

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.tables.engine import EngineSharedScanRow, EngineUnitRow
from qari.adapters.scan_codec import encode_scan
from qari.adapters.tasks import ENTER, TaskExecutor, UnitWorker, WorkerParts
from qari.core.clocks import WallClock
from qari.engine.cycle import ExchangeScan, Timeouts, UserOutcome, UserUnit

AT = dt.datetime(2024, 8, 9, 15, 0, tzinfo=dt.UTC)
BROKER = os.environ.get("QARI_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
DAY = dt.timedelta(days=1)


class _Units:
    def __init__(self) -> None:
        self.entered: list[UserUnit] = []

    async def enter(self, unit: UserUnit, scan: ExchangeScan) -> UserOutcome:
        self.entered.append(unit)
        return UserOutcome(gate=(), orders_sent=0)

    async def manage(self, unit: UserUnit, at: dt.datetime) -> None:
        raise AssertionError("not a management unit")

    async def reconcile(self, unit: UserUnit, at: dt.datetime | None = None) -> None:
        raise AssertionError("not a reconcile unit")


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[Any]:
    await asyncio.to_thread(migrate.upgrade, pg_url)
    engine = make_engine(pg_url)
    yield engine
    await engine.dispose()


def _executor(pg_url: str, **options: Any) -> TaskExecutor:
    return TaskExecutor(
        pg_url, WallClock(), broker_url=BROKER, queue=f"qari-test-{uuid.uuid4().hex[:10]}", **options
    )


async def _record(db: Any, at: dt.datetime, user_id: int = 1) -> None:
    async with make_sessionmaker(db)() as session, session.begin():
        await session.execute(
            insert(EngineUnitRow).values(
                kind=ENTER, cycle_at=at, exchange_id="sandbox", user_id=user_id, finished_at=at, outcome={}
            )
        )


async def _store(db: Any, at: dt.datetime) -> None:
    async with make_sessionmaker(db)() as session, session.begin():
        body = encode_scan(ExchangeScan("sandbox", at))
        await session.execute(
            insert(EngineSharedScanRow).values(cycle_at=at, exchange_id="sandbox", body=body)
        )


async def _cycles(db: Any) -> tuple[list[dt.datetime], list[dt.datetime]]:
    async with make_sessionmaker(db)() as session:
        units = (await session.scalars(select(EngineUnitRow.cycle_at).order_by(EngineUnitRow.cycle_at))).all()
        scans = (
            await session.scalars(select(EngineSharedScanRow.cycle_at).order_by(EngineSharedScanRow.cycle_at))
        ).all()
    return list(units), list(scans)


async def test_records_when_a_cycle_stores_its_scan_then_older_than_a_week_are_pruned_hourly(
    pg_url: str, db: Any
) -> None:
    """Found on the first task-engine version: every unit record and stored scan was kept forever."""
    for at in (AT - 8 * DAY, AT - 6 * DAY):
        await _record(db, at)
        await _store(db, at)
    await _record(db, AT)  # this cycle's unit, already done: `enter` returns at once
    executor = _executor(pg_url)
    try:
        await executor.enter(UserUnit(1, "sandbox"), ExchangeScan("sandbox", AT))
        assert await _cycles(db) == ([AT - 6 * DAY, AT], [AT - 6 * DAY, AT])
        # Within the hour: no second sweep (one per hour of cycles, not one per cycle).
        later = AT + dt.timedelta(minutes=5)
        await _record(db, AT - 8 * DAY)
        await _record(db, later)
        await executor.enter(UserUnit(1, "sandbox"), ExchangeScan("sandbox", later))
        assert (await _cycles(db))[0][0] == AT - 8 * DAY
    finally:
        executor.broker.flush_all()
        await executor.close()


async def _taken(executor: TaskExecutor) -> Any:
    """The next message of the executor's queue, as a worker takes it."""

    def take() -> Any:
        consumer = executor.broker.consume(executor.queue, prefetch=1, timeout=5000)
        try:
            message = next(consumer)
            assert message is not None, "no message on the queue"
            consumer.ack(message)
            return message
        finally:
            consumer.close()

    return await asyncio.to_thread(take)


async def test_unit_when_its_message_waited_past_the_cycles_wait_then_recorded_expired_not_run(
    pg_url: str, db: Any
) -> None:
    """Found on the first task-engine version: a message the cycle had stopped waiting for (the
    workers busy) still ran later, entering on a scan the cycle had given up on."""
    units = _Units()
    worker = UnitWorker(WorkerParts(units, lambda _now: None, db.dispose, db))
    late, prompt = _executor(pg_url, timeouts=Timeouts(user_seconds=0.3)), _executor(pg_url)
    try:
        with pytest.raises(TimeoutError):  # the cycle's per-unit wait, as EngineCycle keeps it
            await asyncio.wait_for(late.enter(UserUnit(1, "sandbox"), ExchangeScan("sandbox", AT)), 0.5)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(prompt.enter(UserUnit(2, "sandbox"), ExchangeScan("sandbox", AT)), 0.5)
        assert await worker.run_message(*(await _taken(late)).args)
        assert await worker.run_message(*(await _taken(prompt)).args)
        async with make_sessionmaker(db)() as session:
            outcomes = dict(
                (await session.execute(select(EngineUnitRow.user_id, EngineUnitRow.outcome))).all()
            )
        ran = {k: v for k, v in outcomes[2].items() if k not in ("worker", "seconds")}  # who ran it, how long
        assert outcomes[1] == {"error": "UnitExpired"} and ran == {"gate": [], "orders_sent": 0}
        assert units.entered == [UserUnit(2, "sandbox")]  # the late one never ran
    finally:
        for executor in (late, prompt):
            executor.broker.flush_all()
            await executor.close()
