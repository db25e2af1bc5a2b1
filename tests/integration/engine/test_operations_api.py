"""`GET /api/v1/admin/operations`: the operator's view of the scaled-out engine, on PostgreSQL and the
real RabbitMQ: workers seen from their unit records, the queue's depth read from the broker, the
last cycle's scheduler and worker timings; operator-only; an unreachable broker is said, not a 500."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import dramatiq
import httpx
import pytest
from sqlalchemy import select
from tests.helpers import register_and_login
from tests.integration.engine.test_engine_tasks import BROKER

from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.tables.engine import EngineCycleRow, EngineUnitRow
from qari.adapters.tasks import QueueDepth, beat, forget, make_broker, queue_depth, run_unit
from qari.config import load_settings
from qari.core.clocks import ManualClock

AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
async def client(tmp_path: Path, pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    from qari.web.app import create_app

    settings = load_settings(
        data_dir=tmp_path / "var",
        master_key_file=tmp_path / "keys" / "master.key",
        engine_mode="off",
        database_url=pg_url,
    )
    app = create_app(settings)
    app.state.clock = ManualClock(AT + dt.timedelta(minutes=3))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c,
    ):
        yield c


async def _record(pg_url: str) -> None:
    db = make_engine(pg_url)
    try:
        async with make_sessionmaker(db)() as session, session.begin():
            for exchange, ms, users in (("binance", 4_200, 3), ("bybit", 2_500, 1)):
                session.add(
                    EngineCycleRow(
                        exchange_id=exchange, mode="live", at=AT, finished_at=AT, duration_ms=ms, users=users
                    )
                )
            session.add(  # an older cycle: not the last one
                EngineCycleRow(
                    exchange_id="binance",
                    mode="live",
                    at=AT - dt.timedelta(minutes=5),
                    finished_at=AT,
                    duration_ms=9_999,
                )
            )
            units: list[tuple[str, str, int, float, dt.datetime]] = [
                ("enter", "binance", 1, 0.5, AT),
                ("enter", "binance", 2, 1.5, AT),
                ("enter", "bybit", 3, 1.0, AT),
                ("enter", "binance", 1, 7.0, AT - dt.timedelta(minutes=20)),  # out of the 15-minute window
                ("manage", "binance", 1, 0.2, AT + dt.timedelta(minutes=1)),
            ]
            for n, (kind, exchange, user, seconds, cycle_at) in enumerate(units):
                worker = "hostA:11" if n % 2 == 0 else "hostB:22"
                finished = cycle_at + dt.timedelta(seconds=30)
                session.add(
                    EngineUnitRow(
                        kind=kind,
                        cycle_at=cycle_at,
                        exchange_id=exchange,
                        user_id=user,
                        finished_at=finished,
                        outcome={"gate": [], "orders_sent": 0, "worker": worker, "seconds": seconds},
                    )
                )
            session.add(  # recorded before units named their worker: counted in no worker's row
                EngineUnitRow(
                    kind="reconcile", cycle_at=AT, exchange_id="bybit", user_id=9, finished_at=AT, outcome={}
                )
            )
    finally:
        await db.dispose()


def _settled(broker: dramatiq.Broker, queue: str, count: int) -> QueueDepth:
    """The depth once the broker has taken `count` publishes (unconfirmed publishes land a moment
    after `enqueue` returns; the count is the broker's, eventually)."""
    deadline = time.monotonic() + 5
    depth = queue_depth(broker, queue)
    while depth.ready < count and time.monotonic() < deadline:
        time.sleep(0.05)
        depth = queue_depth(broker, queue)
    return depth


async def test_operations_when_units_cycles_and_queued_messages_then_workers_depth_and_timings(
    client: httpx.AsyncClient, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = f"qari-ops-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("QARI_BROKER_URL", BROKER)
    monkeypatch.setattr("qari.adapters.tasks.QUEUE", queue)
    broker = make_broker(BROKER)
    try:
        for user in (1, 2, 3):
            message: dramatiq.Message[Any] = dramatiq.Message(
                queue_name=queue,
                actor_name=run_unit.actor_name,
                args=("enter", 0, 0, user, "x", None),
                kwargs={},
                options={},
            )
            broker.enqueue(message)
        _settled(broker, queue, 3)
        await _record(pg_url)
        operator = await register_and_login(client, "op@example.com")
        reply = await client.get("/api/v1/admin/operations", headers=operator)
    finally:
        broker.flush_all()
        broker.close()
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["task_engine"] is True and body["window_minutes"] == 15
    assert [(w["name"], w["units"]) for w in body["workers"]] == [("hostA:11", 3), ("hostB:22", 1)]
    assert body["workers"][0]["mean_seconds"] == pytest.approx((0.5 + 1.0 + 0.2) / 3, abs=1e-4)
    assert body["queue"] == {
        "queue": queue,
        "reachable": True,
        "ready": 3,
        "delayed": 0,
        "dead": 0,
        "error": None,
    }
    last = body["last_cycle"]
    assert last["at"].startswith("2026-03-01T12:00:00")
    assert [(s["exchange_id"], s["seconds"], s["users"]) for s in last["scheduler"]] == [
        ("binance", 4.2, 3),
        ("bybit", 2.5, 1),
    ]
    assert last["workers"] == {"units": 3, "workers": 2, "mean_seconds": 1.0, "max_seconds": 1.5}


async def test_operations_when_not_operator_then_403_and_broker_down_then_said_not_500(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = await register_and_login(client, "op@example.com")
    user = await register_and_login(client, "user@example.com")
    assert (await client.get("/api/v1/admin/operations", headers=user)).status_code == 403
    assert (await client.get("/api/v1/admin/operations")).status_code == 401

    no_broker = (await client.get("/api/v1/admin/operations", headers=operator)).json()
    assert no_broker["task_engine"] is False and no_broker["queue"] is None
    assert no_broker["workers"] == [] and no_broker["last_cycle"] is None

    monkeypatch.setenv("QARI_BROKER_URL", "amqp://guest:guest@127.0.0.1:1/")
    reply = await client.get("/api/v1/admin/operations", headers=operator)
    assert reply.status_code == 200
    assert reply.json()["queue"]["reachable"] is False and reply.json()["queue"]["error"]


@pytest.mark.parametrize("url", [BROKER, "redis://127.0.0.1:6379/0"])
def test_queue_depth_when_messages_wait_then_both_brokers_count_them(url: str) -> None:
    queue = f"qari-depth-{uuid.uuid4().hex[:10]}"
    broker = make_broker(url)
    try:
        broker.declare_queue(queue)
        assert queue_depth(broker, queue).ready == 0
        for user in (1, 2):
            message: dramatiq.Message[Any] = dramatiq.Message(
                queue_name=queue, actor_name=run_unit.actor_name, args=("enter", 0, 0, user, "x", None),
                kwargs={}, options={},
            )  # fmt: skip
            broker.enqueue(message)
        depth = _settled(broker, queue, 2)
        assert (depth.ready, depth.delayed, depth.dead) == (2, 0, 0)
    finally:
        broker.flush(queue)
        broker.close()


async def test_operations_when_workers_beat_then_idle_ones_listed_too_and_stopped_ones_not(
    client: httpx.AsyncClient, pg_url: str
) -> None:
    """Heartbeats (`engine_workers`) list a worker that works no unit; units alone showed busy ones only."""
    now = AT + dt.timedelta(minutes=3)  # the app's clock
    await _record(pg_url)  # hostA:11 and hostB:22 recorded units, and beat no more (gone)
    db = make_engine(pg_url)
    try:
        sessions = make_sessionmaker(db)
        for name, in_flight, seen in (
            ("hostC:33", 0, now - dt.timedelta(seconds=10)),  # idle
            ("hostD:44", 2, now - dt.timedelta(seconds=5)),  # busy
            ("hostE:55", 0, now - dt.timedelta(minutes=5)),  # its heartbeat stopped long ago
            ("hostF:66", 0, now),  # stops cleanly below
        ):
            await beat(sessions, name, threads=8, in_flight=in_flight, started_at=AT, now=seen)
        await forget(sessions, "hostF:66")
    finally:
        await db.dispose()
    operator = await register_and_login(client, "op@example.com")
    reply = await client.get("/api/v1/admin/operations", headers=operator)
    assert reply.status_code == 200, reply.text
    listed = {w["name"]: (w["state"], w["units"], w["in_flight"]) for w in reply.json()["workers"]}
    assert listed == {
        "hostA:11": ("gone", 3, None),
        "hostB:22": ("gone", 1, None),
        "hostC:33": ("idle", 0, 0),
        "hostD:44": ("busy", 0, 2),
    }


async def test_worker_heartbeat_when_running_then_row_kept_fresh_and_removed_on_stop(pg_url: str) -> None:
    """The thread `run_worker` starts beside the Dramatiq worker, idle or not."""
    import asyncio

    from qari.adapters import tasks
    from qari.adapters.persistence import migrate
    from qari.adapters.persistence.tables.engine import EngineWorkerRow

    await asyncio.to_thread(migrate.upgrade, pg_url)
    heartbeat = tasks._Heartbeat(pg_url, threads=4)
    db = make_engine(pg_url)
    try:
        heartbeat.start()
        rows: list[EngineWorkerRow] = []
        for _ in range(100):
            async with make_sessionmaker(db)() as session:
                rows = list(await session.scalars(select(EngineWorkerRow)))
            if rows:
                break
            await asyncio.sleep(0.1)
        assert [(r.name, r.threads, r.in_flight) for r in rows] == [(tasks.WORKER_NAME, 4, 0)]
        heartbeat.stop.set()
        await asyncio.to_thread(heartbeat.join, 10)
        async with make_sessionmaker(db)() as session:
            assert list(await session.scalars(select(EngineWorkerRow))) == []
    finally:
        heartbeat.stop.set()
        await db.dispose()
