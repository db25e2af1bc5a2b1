"""Users' units of work on the task engine (Dramatiq over RabbitMQ, PostgreSQL journal, `qari worker`
processes, the sandbox venue in its own process): the same decisions as in the engine process, and
no duplicate or lost unit when workers are SIGKILLed mid-cycle."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import math
import os
import random
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from tests.conftest import free_port, port_open
from tests.integration.engine.support import MARKET_DATA_DIR as MARKET_DATA
from tests.integration.engine.support import stepped_sandbox_engine
from tests.market_data import needs_market_data

from qari.adapters.persistence.tables.engine import EngineUnitRow
from qari.adapters.persistence.tables.trading import GateEvaluationRow, OrderRow, PositionRow
from qari.adapters.scan_codec import decode_scan, encode_scan
from qari.adapters.simulator.harness import SandboxProcess, SandboxServer
from qari.adapters.tasks import spawn_worker
from qari.core.time import to_ms
from qari.engine.cycle import Timeouts
from qari.engine.roles import SandboxWorkerSpec, sandbox_worker_env
from qari.ports import CycleReport

PAIRS = ("SUI/USDT", "APT/USDT", "AVAX/USDT", "BCH/USDT", "LTC/USDT", "INJ/USDT", "DOGE/USDT", "LINK/USDT")
AT = dt.datetime(2024, 8, 9, 15, 0, tzinfo=dt.UTC)  # several fresh candidates (benchmarks/cycle.py)
BROKER = os.environ.get("QARI_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")

pytestmark = needs_market_data


class Workers:
    """`qari worker` child processes on one private queue; some are SIGKILLed and replaced."""

    def __init__(self, env: dict[str, str], threads: int) -> None:
        self.env = env
        self.threads = threads
        self.processes: list[subprocess.Popen[bytes]] = []
        self.killed = 0

    def start(self, count: int) -> None:
        self.processes += [spawn_worker(self.env, self.threads) for _ in range(count)]

    def kill_one(self, rng: random.Random) -> None:
        victim = rng.choice([p for p in self.processes if p.poll() is None])
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        self.processes.remove(victim)
        self.killed += 1
        self.start(1)

    def stop(self) -> None:
        for p in self.processes:
            p.send_signal(signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


async def _cycles(
    sandbox: Any,
    tmp: Path,
    database_url: str | None,
    users: int,
    workers: int,
    cycles: int = 1,
    kills: int = 0,
    broker: str = BROKER,
    during: Callable[[], Awaitable[None]] | None = None,
    threads: int = 8,
    unit_seconds: float = 120,
) -> dict[str, Any]:
    """Run `cycles` cycles for `users` users; with `workers`, on the task engine (killing `kills` times)."""
    start = AT - dt.timedelta(minutes=5)
    tmp.mkdir(exist_ok=True)
    accounts = {u: sandbox.create_key(balances={"USDT": "10000"}) for u in range(1, users + 1)}
    queue = f"qari-test-{uuid.uuid4().hex[:10]}"
    options: dict[str, Any] = {}
    if workers:
        options = {"database_url": database_url, "broker_url": broker, "queue": queue}
    run = await stepped_sandbox_engine(
        sandbox,
        tmp,
        accounts=accounts,
        start=start,
        pairs=PAIRS,
        step=300,
        timeouts=Timeouts(
            refresh_seconds=120,
            user_seconds=unit_seconds,
            manage_seconds=unit_seconds,
            max_concurrent_users=8,
        ),
        **options,
    )
    pool = None
    if workers:
        spec = SandboxWorkerSpec(
            base_url=sandbox.base_url,
            timeout_ms=10_000,
            accounts=accounts,
            database_url=str(database_url),
            exchange_id="sandbox",
            cycle_seconds=300,
            concurrency=8,
            stepped=True,
        )
        pool = Workers(sandbox_worker_env(spec, tmp, broker, queue), threads=threads)
        pool.start(workers)
    reports: list[CycleReport] = []
    rng = random.Random(18)
    try:
        for n in range(cycles):
            at = AT + dt.timedelta(minutes=5 * n)
            await run.engine.scheduler.sleep_until(at)
            cycle = asyncio.create_task(run.engine.cycle.run_cycle(at))
            share = kills if pool and n == 0 else 0  # all in the cold cycle: its units place orders
            for k in range(share):  # kills spread over the cycle's progress, each with units in flight
                await _recorded(run, at, users * (k + 1) // (share + 2), cycle)
                assert not cycle.done(), "the kill must land mid-cycle"
                pool.kill_one(rng)  # type: ignore[union-attr]
            if during is not None and n == 0:
                await during()
                assert not cycle.done(), "the outage must land mid-cycle"
            reports.append(await cycle)
        if pool is not None:  # let entries fill, then one management tick places their stops
            managed_at = AT + dt.timedelta(minutes=5 * cycles)
            await run.engine.scheduler.sleep_until(managed_at)
            managed = await run.engine.cycle.run_manage(managed_at)
            assert all(u.error is None for u in managed), Counter(u.error for u in managed)
        async with run.sessions() as session:
            counts = {
                "gates": await session.scalar(select(func.count(GateEvaluationRow.id))),
                "positions": await session.scalar(select(func.count(PositionRow.id))),
                "orders": await session.scalar(select(func.count(OrderRow.id))),
            }
            if workers:
                counts["units"] = await session.scalar(
                    select(func.count()).select_from(EngineUnitRow).where(EngineUnitRow.kind == "enter")
                )
            positions = (await session.execute(select(PositionRow.user_id, PositionRow.symbol))).all()
            bought = set(
                (await session.scalars(select(PositionRow.id).where(PositionRow.bought_qty > 0))).all()
            )
            journal = dict(
                (await session.execute(select(OrderRow.client_order_id, OrderRow.state))).tuples().all()
            )
            stops = (
                await session.execute(
                    select(OrderRow.position_id, OrderRow.client_order_id).where(OrderRow.role == "stop")
                )
            ).all()
    finally:
        if pool is not None:
            pool.stop()
        await run.engine.stop()
    venue_orders = [o for key, _ in accounts.values() for o in sandbox.orders(key)]
    return {
        "reports": reports,
        "counts": counts,
        "positions": positions,
        "bought": bought,
        "journal": journal,
        "stops": stops,
        "venue_orders": venue_orders,
        "killed": pool.killed if pool else 0,
    }


async def _recorded(run: Any, at: dt.datetime, count: int, cycle: asyncio.Task[Any]) -> None:
    """Wait until `count` of the cycle's entry units are recorded (or the cycle ended)."""
    while not cycle.done():
        async with run.sessions() as session:
            done = await session.scalar(
                select(func.count())
                .select_from(EngineUnitRow)
                .where(EngineUnitRow.kind == "enter", EngineUnitRow.cycle_at == at)
            )
        if done >= count:
            return
        await asyncio.sleep(0.02)


def _outcomes(report: CycleReport) -> list[Any]:
    assert all(u.error is None for u in report.units), [u.error for u in report.units]
    return sorted(
        (
            u.unit.user_id,
            tuple((g.symbol, g.passed, g.blocking_code) for g in u.outcome.gate),
            u.outcome.orders_sent,
        )
        for u in report.units
        if u.outcome is not None
    )


async def test_cycle_when_units_run_on_two_task_workers_then_same_gates_orders_and_journal(
    tmp_path: Path, pg_url: str
) -> None:
    users = 4
    with SandboxServer.start(
        data_dir=MARKET_DATA, symbols=[*PAIRS, "BTC/USDT"], stepped_start_ms=to_ms(AT) - 300_000
    ) as sandbox:
        in_process = await _cycles(sandbox, tmp_path / "a", None, users, workers=0)
    with SandboxServer.start(
        data_dir=MARKET_DATA, symbols=[*PAIRS, "BTC/USDT"], stepped_start_ms=to_ms(AT) - 300_000
    ) as sandbox:
        tasked = await _cycles(sandbox, tmp_path / "b", pg_url, users, workers=2)

    outcomes = _outcomes(tasked["reports"][0])
    assert len(outcomes) == users and sum(sent for _, _, sent in outcomes) >= users
    assert tasked["counts"]["gates"] == sum(len(gates) for _, gates, _ in outcomes)
    assert tasked["counts"]["units"] == users  # one record per (cycle, user)
    assert outcomes == _outcomes(in_process["reports"][0])
    assert {k: v for k, v in tasked["counts"].items() if k != "units"} == in_process["counts"]


def _assert_exactly_once(result: dict[str, Any], users: int, cycles: int) -> None:
    venue = result["venue_orders"]
    ids = Counter(o["orderLinkId"] for o in venue)
    assert not [i for i, n in ids.items() if n > 1], "duplicate client order ids on the venue"
    assert result["counts"]["units"] == users * cycles
    for report in result["reports"]:
        assert len(report.units) == users
        assert all(u.error is None for u in report.units), Counter(u.error for u in report.units)
    # Exactly once in effect: one position per user and symbol, each with its entry order on the venue.
    per_user_symbol = Counter(result["positions"])
    assert per_user_symbol and max(per_user_symbol.values()) == 1
    assert result["counts"]["orders"] >= len(result["positions"])
    # Every venue order is journaled; a journaled one the venue never got (its worker was killed
    # between persisting and sending) is found absent, never sent again under a new id.
    journal: dict[str, str] = result["journal"]
    assert set(ids) <= set(journal)
    unsent = {client_id: journal[client_id] for client_id in set(journal) - set(ids)}
    assert set(unsent.values()) <= {"absent"}, unsent
    # Every position with a fill has its protective stop, journaled and open on the venue.
    open_on_venue = {o["orderLinkId"] for o in venue if o["orderStatus"] in ("New", "Untriggered")}
    stopped = {position for position, client_id in result["stops"] if client_id in open_on_venue}
    assert result["bought"], "no entry filled: the stop check would prove nothing"
    assert result["bought"] <= stopped, sorted(result["bought"] - stopped)


async def test_units_when_workers_are_sigkilled_mid_cycle_then_no_duplicate_and_none_lost(
    tmp_path: Path, pg_url: str
) -> None:
    users, cycles = 40, 2
    with SandboxProcess.start(
        data_dir=MARKET_DATA, symbols=[*PAIRS, "BTC/USDT"], stepped_start_ms=to_ms(AT) - 300_000
    ) as sandbox:
        result = await _cycles(sandbox, tmp_path, pg_url, users, workers=3, cycles=cycles, kills=4, threads=3)
    assert result["killed"] == 4
    _assert_exactly_once(result, users, cycles)


@pytest.mark.soak
async def test_units_when_4_workers_are_sigkilled_20_times_for_500_users_then_exactly_once(
    tmp_path: Path, pg_url: str
) -> None:
    users, cycles = 500, 2
    with SandboxProcess.start(
        data_dir=MARKET_DATA, symbols=[*PAIRS, "BTC/USDT"], stepped_start_ms=to_ms(AT) - 300_000
    ) as sandbox:
        result = await _cycles(
            sandbox,
            tmp_path,
            pg_url,
            users,
            workers=4,
            cycles=cycles,
            kills=20,
            threads=4,
            unit_seconds=900,  # the sender's wait includes the queue: 500 units on 16 threads
        )
    assert result["killed"] == 20
    _assert_exactly_once(result, users, cycles)


class PrivateRedis:
    """A Redis of this test's own (append-only, so queued messages survive its restart)."""

    def __init__(self, data: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.data = data
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("/usr/bin/redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.data), "--appendonly", "yes", "--appendfsync", "always", "--save", ""),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # a clean stop: the append-only file keeps the queue
            self.process.wait(10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    data = tmp_path / "redis"
    data.mkdir()
    redis = PrivateRedis(data)
    redis.start()
    yield redis
    redis.stop()


async def _broker_outage(tmp_path: Path, pg_url: str, redis: PrivateRedis, seconds: float) -> None:
    """The broker is stopped for `seconds` mid-cycle; the scheduler's sends and the workers' consumers
    ride it out, and every unit of both cycles runs exactly once."""

    async def outage() -> None:
        await asyncio.sleep(0.5)
        redis.stop()
        await asyncio.sleep(seconds)
        redis.start()

    users = 40
    with SandboxProcess.start(
        data_dir=MARKET_DATA, symbols=[*PAIRS, "BTC/USDT"], stepped_start_ms=to_ms(AT) - 300_000
    ) as sandbox:
        result = await _cycles(
            sandbox, tmp_path, pg_url, users, workers=2, cycles=2, broker=redis.url, during=outage
        )
    _assert_exactly_once(result, users, 2)


async def test_units_when_the_broker_is_down_mid_cycle_then_the_cycle_resumes_exactly_once(
    tmp_path: Path, pg_url: str, private_redis: PrivateRedis
) -> None:
    await _broker_outage(tmp_path, pg_url, private_redis, seconds=5)


@pytest.mark.soak
async def test_units_when_the_broker_is_down_60_s_mid_cycle_then_the_cycle_resumes_exactly_once(
    tmp_path: Path, pg_url: str, private_redis: PrivateRedis
) -> None:
    await _broker_outage(tmp_path, pg_url, private_redis, seconds=60)


def _same(stored: Any, read: Any, where: str = "scan") -> None:
    """`read` is `stored` value for value and type for type (arrays by dtype, shape and content)."""
    assert type(read) is type(stored), where
    if isinstance(stored, np.ndarray):
        assert read.dtype == stored.dtype and read.shape == stored.shape, where
        assert np.array_equal(read, stored, equal_nan=stored.dtype.kind == "f"), where
    elif dataclasses.is_dataclass(stored):
        for f in dataclasses.fields(stored):
            _same(getattr(stored, f.name), getattr(read, f.name), f"{where}.{f.name}")
    elif isinstance(stored, dict):
        assert list(read) == list(stored), where
        for k in stored:
            _same(stored[k], read[k], f"{where}.{k}")
    elif isinstance(stored, list | tuple):
        assert len(read) == len(stored), where
        for i, (a, b) in enumerate(zip(stored, read, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(stored, float) and math.isnan(stored):
        assert math.isnan(read), where
    else:
        assert repr(read) == repr(stored), where  # Decimals digit for digit


async def test_shared_scan_when_stored_for_the_workers_then_reads_back_value_for_value(
    tmp_path: Path,
) -> None:
    """A real cycle's scan (candles, verdicts with layers and candidates) through the stored form the
    workers read (typed JSON instead of a pickle: scan_codec.py)."""
    with SandboxServer.start(
        data_dir=MARKET_DATA, symbols=[*PAIRS, "BTC/USDT"], stepped_start_ms=to_ms(AT) - 300_000
    ) as sandbox:
        result = await _cycles(sandbox, tmp_path, None, users=1, workers=0)
    scan = result["reports"][0].scans[0]
    assert scan.candidates() and scan.snapshots  # a scan with something to lose
    assert all(s.series for s in scan.snapshots.values())
    body = encode_scan(scan)
    _same(scan, decode_scan(body))
