"""Graceful drain on SIGTERM, with real `qari worker` / `qari scheduler` processes: a worker finishes
the unit it is running before it exits 0, and a leading scheduler gives up its PostgreSQL advisory
lock on the way out, so the standby leads at once; a standby told to stop leaves at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import dramatiq
import pytest
from tests.integration.engine.test_engine_tasks import BROKER

from qari.adapters.persistence import migrate
from qari.adapters.simulator.harness import SandboxServer
from qari.adapters.tasks import (
    RECONCILE,
    SCHEDULER_LOCK,
    _unit_lock_key,
    make_broker,
    queue_depth,
    run_unit,
    spawn_worker,
)
from qari.core.time import to_ms
from qari.engine.roles import DRAIN_SECONDS, SandboxWorkerSpec, sandbox_worker_env

AT = dt.datetime(2026, 1, 1, 0, 5, tzinfo=dt.UTC)
STARTUP = 120  # seconds for a role's process to start (imports, migrations) on a loaded 2-core machine


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await condition()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _advisory_locks(conn: asyncpg.Connection) -> list[tuple[int, bool]]:
    """(backend pid, granted) of every advisory lock in this test's database."""
    rows = await conn.fetch(
        "SELECT l.pid, l.granted FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND d.datname = current_database()"
    )
    return [(int(r["pid"]), bool(r["granted"])) for r in rows]


def _stop(process: subprocess.Popen[bytes], timeout: float = 45) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


@pytest.fixture
def queue() -> str:
    return f"qari-drain-{uuid.uuid4().hex[:10]}"


def _sandbox_worker_env(sandbox: SandboxServer, pg_url: str, tmp_path: Path, queue: str) -> dict[str, str]:
    """A `qari worker` for user 1, a key on the sandbox venue."""
    spec = SandboxWorkerSpec(
        base_url=sandbox.base_url,
        timeout_ms=10_000,
        accounts={1: sandbox.create_key(balances={"USDT": "1000"})},
        database_url=pg_url,
        exchange_id="sandbox",
        cycle_seconds=300,
        concurrency=2,
        stepped=True,
    )
    return sandbox_worker_env(spec, tmp_path, BROKER, queue)


def _unit_message(queue: str, kind: str = RECONCILE, user_id: int = 1) -> dramatiq.Message[Any]:
    return dramatiq.Message(
        queue_name=queue,
        actor_name=run_unit.actor_name,
        args=(kind, to_ms(AT), to_ms(AT), user_id, "sandbox", None),
        kwargs={},
        options={},
    )


async def test_worker_when_sigterm_arrives_mid_unit_then_it_finishes_the_unit_once_and_exits_0(
    tmp_path: Path, pg_url: str, sandbox_server: SandboxServer, queue: str
) -> None:
    await asyncio.to_thread(migrate.upgrade, pg_url)
    worker = spawn_worker(_sandbox_worker_env(sandbox_server, pg_url, tmp_path, queue), threads=2)
    conn = await asyncpg.connect(_plain(pg_url))
    broker = make_broker(BROKER)
    try:
        # Hold the user's unit lock: the worker takes the message and waits inside the unit for it.
        await conn.execute("SELECT pg_advisory_lock($1)", _unit_lock_key(1))
        message = _unit_message(queue)
        await asyncio.to_thread(broker.enqueue, message)

        async def unit_in_flight() -> bool:
            return any(not granted for _, granted in await _advisory_locks(conn))

        await _wait_for(unit_in_flight, STARTUP, "the worker to start the unit")
        worker.send_signal(signal.SIGTERM)
        await asyncio.sleep(1.0)
        assert worker.poll() is None, "the worker left with its unit in flight"
        await conn.execute("SELECT pg_advisory_unlock($1)", _unit_lock_key(1))
        code = await asyncio.to_thread(worker.wait, 15)
        assert code == 0
        records = await conn.fetch("SELECT kind, user_id, outcome FROM engine_units")
        assert [(r["kind"], r["user_id"]) for r in records] == [(RECONCILE, 1)]
        assert "error" not in (records[0]["outcome"] or "")
        # Acked, not handed back: a fresh worker finds nothing to do on the queue.
        depth = await asyncio.to_thread(queue_depth, broker, queue)
        assert (depth.ready, depth.delayed, depth.dead) == (0, 0, 0)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        await conn.close()
        broker.close()


# ------------------------------------------------------------------------------------------ scheduler


def _scheduler(
    pg_url: str, data: Path, queue: str, extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "QARI_DATABASE_URL": pg_url,
        "QARI_BROKER_URL": BROKER,
        "QARI_TASK_QUEUE": queue,
        "QARI_DATA_DIR": str(data),
        "QARI_MASTER_KEY_FILE": str(data.parent / "master.key"),
        "QARI_ENGINE_MODE": "live",
        **(extra or {}),
    }
    with (data / "scheduler.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "qari", "scheduler"], env=env, stdout=log, stderr=subprocess.STDOUT
        )


@pytest.fixture
def schedulers(
    tmp_path: Path, pg_url: str, queue: str
) -> Iterator[Callable[[], tuple[subprocess.Popen[bytes], Path]]]:
    """Start `qari scheduler` processes; each gives its process and its log file."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> tuple[subprocess.Popen[bytes], Path]:
        data = tmp_path / f"s{len(started)}"
        data.mkdir()
        started.append(_scheduler(pg_url, data, queue))
        return started[-1], data / "scheduler.log"

    yield start
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


async def test_scheduler_when_the_leader_gets_sigterm_then_the_standby_leads_at_once_and_both_exit_0(
    pg_url: str, schedulers: Callable[[], tuple[subprocess.Popen[bytes], Path]]
) -> None:
    await asyncio.to_thread(migrate.upgrade, pg_url)
    conn = await asyncpg.connect(_plain(pg_url))
    try:
        started = [schedulers(), schedulers()]  # together: whichever locks first leads

        async def one_leads_one_waits() -> list[tuple[int, bool]] | None:
            locks = await _advisory_locks(conn)
            return locks if sorted(ok for _, ok in locks) == [False, True] else None

        locks = await _wait_for(one_leads_one_waits, STARTUP, "one scheduler to lead and one to wait")
        (leader_backend,) = [pid for pid, ok in locks if ok]
        (leader, _), (standby, _) = sorted(started, key=lambda s: "leading the" not in s[1].read_text())
        leader.send_signal(signal.SIGTERM)
        signalled = time.monotonic()

        async def new_leader() -> list[int]:
            return [pid for pid, ok in await _advisory_locks(conn) if ok and pid != leader_backend]

        await _wait_for(new_leader, 20, "the standby to lead")
        took = time.monotonic() - signalled
        # Well under the 30 s a leader used to take (roles.py's grace), with room for a loaded machine.
        assert took < 2 * DRAIN_SECONDS + 11, f"the standby led {took:.1f} s after the leader's SIGTERM"
        assert await asyncio.to_thread(leader.wait, 45) == 0
        assert standby.poll() is None
        assert await asyncio.to_thread(_stop, standby) == 0
        assert await _advisory_locks(conn) == []
    finally:
        await conn.close()


async def test_scheduler_when_a_waiting_standby_gets_sigterm_then_it_leaves_at_once_with_0(
    pg_url: str, schedulers: Callable[[], tuple[subprocess.Popen[bytes], Path]]
) -> None:
    await asyncio.to_thread(migrate.upgrade, pg_url)
    conn = await asyncpg.connect(_plain(pg_url))
    try:
        # This test's connection leads; the scheduler can only wait.
        await conn.execute("SELECT pg_advisory_lock($1)", SCHEDULER_LOCK)
        standby, _ = schedulers()

        async def waiting() -> bool:
            return any(not ok for _, ok in await _advisory_locks(conn))

        await _wait_for(waiting, STARTUP, "the scheduler to wait for the lead")
        started = time.monotonic()
        assert await asyncio.to_thread(_stop, standby) == 0
        assert time.monotonic() - started < 15.0  # it used to sit out roles.py's 30 s grace
        assert not await waiting()
    finally:
        await conn.close()
