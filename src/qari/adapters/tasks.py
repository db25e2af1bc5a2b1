"""Users' units of work on the distributed task engine (Dramatiq; why: docs/task-engine.md).

The broker is named by `QARI_BROKER_URL` (`amqp://…` or `redis://…`); without it nothing here runs
(`qari serve` keeps its units in-process). A message carries only the unit's key
(kind, cycle instant, exchange, user) and the sender's clock reading; the cycle's shared scan is
stored once in the database (`engine_shared_scans`, typed JSON: `scan_codec.py`) and read by the
workers.

Dramatiq acks a message only after the actor returns and redelivers it when its worker dies, so a
unit may run more than once; the worker makes that harmless: a PostgreSQL advisory lock per user
(two units of one user never run at once, on any machine; PostgreSQL frees it if the holder dies),
then a look at `engine_units`, where every finished unit is recorded with its outcome. Orders stay
idempotent underneath (client id persisted before sending), so a unit cut off half-way and run
again reconciles instead of placing a second order.

`TaskExecutor` is the cycle's `UserExecutor` on the sending side: it stores the scan, sends the
messages and waits for the units' records; `EngineCycle` keeps its per-unit timeout around it.

Why one file of ~600 lines: it holds both sides of one protocol (the message, the unit records, the
per-user lock keys, the codecs) that the sending side writes and the worker side reads; kept together,
a change to that contract is made in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, cast

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO
from sqlalchemy import CursorResult, delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from qari.adapters import probe
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.tables.engine import EngineSharedScanRow, EngineUnitRow
from qari.adapters.probe import TASK_UNIT_SECONDS, TASK_UNITS
from qari.adapters.scan_codec import decode_scan, encode_scan
from qari.core import errors
from qari.core.time import from_ms, to_ms
from qari.ports import ExchangeScan, GateOutcome, Timeouts, UserOutcome, UserUnit

log = logging.getLogger("qari.adapters.tasks")

BROKER_ENV = "QARI_BROKER_URL"
QUEUE_ENV = "QARI_TASK_QUEUE"  # one deployment's queue name on a shared broker (tests: one per run)
QUEUE = os.environ.get(QUEUE_ENV, "qari-units")
ENTER, MANAGE, RECONCILE = "enter", "manage", "reconcile"
KEEP_RECORDS = dt.timedelta(days=7)  # unit records and stored scans older than this (cycle time) are pruned
PRUNE_EVERY = dt.timedelta(hours=1)
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"  # recorded with each unit this process runs


def make_broker(url: str) -> dramatiq.Broker:
    """A Dramatiq broker for `amqp://` (RabbitMQ) or `redis://` URLs, with async actors enabled."""
    broker: dramatiq.Broker
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url)
    elif url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=url)
    else:
        raise ValueError(f"{BROKER_ENV} must be an amqp:// or redis:// URL")
    broker.add_middleware(AsyncIO())
    return broker


def _default_broker() -> dramatiq.Broker:
    url = os.environ.get(BROKER_ENV)
    if url:
        return make_broker(url)
    stub = StubBroker()  # importing this module without a broker (type checks, `qari serve`) sends nothing
    stub.add_middleware(AsyncIO())
    return stub


dramatiq.set_broker(_default_broker())


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """Messages waiting on a queue (not those a worker holds unacked), its delayed (retry back-off)
    queue and its dead letters."""

    ready: int
    delayed: int
    dead: int


def queue_depth(broker: dramatiq.Broker, queue: str = QUEUE) -> QueueDepth:
    """Read from the broker itself: RabbitMQ's queue declarations (Dramatiq's own, same arguments),
    Redis's lists (Dramatiq's key layout: `<namespace>:<queue>`, `.DQ`, `.XQ`)."""
    from dramatiq.common import dq_name, xq_name

    if hasattr(broker, "get_queue_message_counts"):  # RabbitmqBroker
        ready, delayed, dead = broker.get_queue_message_counts(queue)
        return QueueDepth(int(ready), int(delayed), int(dead))
    client = getattr(broker, "client", None)
    namespace = getattr(broker, "namespace", None)
    if client is None or namespace is None:
        raise TypeError(f"no queue depth for {type(broker).__name__}")
    return QueueDepth(
        int(client.llen(f"{namespace}:{queue}")),
        int(client.llen(f"{namespace}:{dq_name(queue)}")),
        int(client.zcard(f"{namespace}:{xq_name(queue)}")),
    )


# ---------------------------------------------------------------------------------------- codecs


def outcome_record(outcome: UserOutcome) -> dict[str, Any]:
    return {
        "gate": [[g.symbol, g.passed, g.blocking_code, g.reason] for g in outcome.gate],
        "orders_sent": outcome.orders_sent,
    }


def outcome_from(record: Mapping[str, Any]) -> UserOutcome:
    return UserOutcome(
        gate=tuple(GateOutcome(s, bool(p), c, r) for s, p, c, r in record.get("gate", ())),
        orders_sent=int(record.get("orders_sent", 0)),
    )


class UnitFailed(RuntimeError):
    """A unit's error that is not one of QARI's own exception types."""


class UnitExpired(RuntimeError):
    """A unit taken from the queue after its deadline: recorded, not run (`TaskExecutor`)."""


def _raise_recorded(record: Mapping[str, Any]) -> None:
    name = record.get("error")
    if not name:
        return
    kind = getattr(errors, str(name), None)
    if isinstance(kind, type) and issubclass(kind, errors.QariError):
        raise kind(f"unit failed in a worker: {name}")
    raise UnitFailed(str(name))


def _unit_lock_key(user_id: int) -> int:
    digest = hashlib.sha256(f"qari-unit:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _require_postgresql(url: str) -> None:
    if not url.startswith("postgresql"):
        raise ValueError("the task engine needs PostgreSQL: its locks and records are shared by machines")


# ------------------------------------------------------------------------------------ sending side


class Clocked(Protocol):
    def now(self) -> dt.datetime: ...


class TaskExecutor:
    """The cycle's `UserExecutor` over the task engine (see module doc).

    A message carries its deadline: when it was sent plus the cycle's wait for that kind of unit
    (`timeouts`: `user_seconds` for entries, `manage_seconds` for management; the cycle's per-unit
    timeout counts from the send, queue included). A worker taking it later records the unit as
    `UnitExpired` instead of running it on a cycle that has given up on it (wall clocks: the machines
    keep NTP time). Once an hour of cycles, storing a scan prunes unit records and stored scans older
    than `keep`."""

    def __init__(
        self,
        database_url: str,
        clock: Clocked,
        *,
        broker_url: str,
        queue: str = QUEUE,
        poll_seconds: float = 0.1,
        timeouts: Timeouts | None = None,
        keep: dt.timedelta = KEEP_RECORDS,
    ) -> None:
        _require_postgresql(database_url)
        self.clock = clock
        limits = timeouts or Timeouts()
        self.waits = {ENTER: limits.user_seconds, MANAGE: limits.manage_seconds}
        self.keep = keep
        self._pruned_at: dt.datetime | None = None
        self.broker = make_broker(broker_url)
        self.queue = queue
        self.poll_seconds = poll_seconds
        self._db = make_engine(database_url)
        self._sessions = make_sessionmaker(self._db)
        self._stored: set[tuple[dt.datetime, str]] = set()
        self._store_lock = asyncio.Lock()
        self._waiting: dict[tuple[str, dt.datetime, str, int], asyncio.Future[dict[str, Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def enter(self, unit: UserUnit, scan: ExchangeScan) -> UserOutcome:
        await self._store_scan(scan)
        record = await self._run(ENTER, scan.at, unit)
        return outcome_from(record)

    async def manage(self, unit: UserUnit, at: dt.datetime) -> None:
        await self._run(MANAGE, at, unit)

    async def reconcile(self, unit: UserUnit, at: dt.datetime | None = None) -> None:
        await self._run(RECONCILE, at or self.clock.now(), unit)

    async def _store_scan(self, scan: ExchangeScan) -> None:
        key = (scan.at, scan.exchange_id)
        async with self._store_lock:
            if key in self._stored:
                return
            body = encode_scan(scan)
            async with self._sessions() as session, session.begin():
                await session.execute(
                    insert(EngineSharedScanRow)
                    .values(cycle_at=scan.at, exchange_id=scan.exchange_id, body=body)
                    .on_conflict_do_nothing()
                )
            self._stored = {k for k in self._stored if k[0] >= scan.at - dt.timedelta(days=1)} | {key}
            if self._pruned_at is None or scan.at - self._pruned_at >= PRUNE_EVERY:
                await self.prune(scan.at - self.keep)
                self._pruned_at = scan.at

    async def prune(self, before: dt.datetime) -> None:
        """Forget unit records and stored scans of cycles before `before`. A message of such a cycle
        still queued then finds no scan (an entry fails) or is past its deadline (expires)."""
        async with self._sessions() as session, session.begin():
            old_units = delete(EngineUnitRow).where(EngineUnitRow.cycle_at < before)
            old_scans = delete(EngineSharedScanRow).where(EngineSharedScanRow.cycle_at < before)
            units = cast(CursorResult[Any], await session.execute(old_units))
            scans = cast(CursorResult[Any], await session.execute(old_scans))
        log.info(
            "pruned old unit records",
            extra={"before": before.isoformat(), "units": units.rowcount, "scans": scans.rowcount},
        )

    async def _run(self, kind: str, at: dt.datetime, unit: UserUnit) -> dict[str, Any]:
        key = (kind, at, unit.exchange_id, unit.user_id)
        future = self._waiting.get(key)
        if future is None:
            future = self._waiting[key] = asyncio.get_running_loop().create_future()
            wait = self.waits.get(kind)
            args = (
                kind,
                to_ms(at),
                to_ms(self.clock.now()),
                unit.user_id,
                unit.exchange_id,
                unit.connection_id,
                None if wait is None else round((time.time() + wait) * 1000),
            )
            message: dramatiq.Message[Any] = dramatiq.Message(
                queue_name=self.queue, actor_name=run_unit.actor_name, args=args, kwargs={}, options={}
            )
            await self._send(message)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="qari-task-results")
        try:
            record = await asyncio.shield(future)
        finally:
            if future.done() or future.cancelled():
                self._waiting.pop(key, None)
        _raise_recorded(record)
        return record

    async def _send(self, message: dramatiq.Message[Any]) -> None:
        """Enqueue, retrying while the broker is away (the unit's timeout bounds it). Sending twice is
        harmless: the unit is keyed, so a duplicate message does nothing."""
        for attempt in itertools.count():
            try:
                await asyncio.to_thread(self.broker.enqueue, message)
                return
            except Exception as e:  # the broker client's connection errors differ per broker
                if attempt == 0:
                    log.warning("broker unavailable, retrying: %s", type(e).__name__)
                await asyncio.sleep(min(5.0, 0.2 * 2**attempt))

    async def _poll(self) -> None:
        """Resolve the waiting units from their records: one query per (kind, cycle, exchange)."""
        while self._waiting:
            groups = {(kind, at, exchange) for kind, at, exchange, _ in self._waiting}
            try:
                async with self._sessions() as session:
                    for kind, at, exchange in groups:
                        rows = await session.execute(
                            select(EngineUnitRow.user_id, EngineUnitRow.outcome).where(
                                EngineUnitRow.kind == kind,
                                EngineUnitRow.cycle_at == at,
                                EngineUnitRow.exchange_id == exchange,
                            )
                        )
                        for user_id, outcome in rows:
                            future = self._waiting.pop((kind, at, exchange, user_id), None)
                            if future is not None and not future.done():
                                future.set_result(outcome)
            except Exception as e:  # the database may blink; the units' own timeouts bound the wait
                log.warning("could not read unit records: %s", type(e).__name__)
            await asyncio.sleep(self.poll_seconds)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        self.broker.close()
        await self._db.dispose()


SCHEDULER_LOCK = _unit_lock_key(0) ^ 0x5C4ED  # one key for the whole deployment's scheduler


@asynccontextmanager
async def scheduler_leadership(db: AsyncEngine, stop: asyncio.Event | None = None) -> AsyncIterator[bool]:
    """Held while this process is the one `qari scheduler` that emits cycles: a session-level
    PostgreSQL advisory lock; a second scheduler waits here, and takes over when the leader unlocks
    (on its way out) or its connection ends (PostgreSQL frees the lock). Yields True once leading, or
    False when `stop` is set while still waiting (a standby told to leave goes at once, never leads).
    Should two ever emit one cycle, its units are keyed, so each still runs once."""
    async with db.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        log.info("waiting to lead the scheduler")
        probe.set_state("standby")
        lock = text("SELECT pg_advisory_lock(:k)")
        locking = asyncio.create_task(conn.execute(lock, {"k": SCHEDULER_LOCK}))
        if stop is not None:
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({locking, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not locking.done():  # asyncpg cancels the statement on the server: no lock is left behind
                locking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await locking
                log.info("stopped while waiting to lead the scheduler")
                yield False
                return
        await locking
        log.info("leading the scheduler", extra={"pid": os.getpid()})
        probe.set_state("leading")
        try:
            yield True
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SCHEDULER_LOCK})
            log.info("left the scheduler's lead")
            probe.set_state("draining")


# ------------------------------------------------------------------------------------ worker side


class UnitsLike(Protocol):
    async def enter(self, unit: UserUnit, scan: ExchangeScan) -> UserOutcome: ...

    async def manage(self, unit: UserUnit, at: dt.datetime) -> None: ...

    async def reconcile(self, unit: UserUnit, at: dt.datetime | None = None) -> None: ...


@dataclass(slots=True)
class WorkerParts:
    """What the composition root (`engine/roles.py`) builds for a worker process."""

    units: UnitsLike
    set_now: Callable[[dt.datetime], None]
    close: Callable[[], Awaitable[None]]
    db: AsyncEngine  # the units' own; a unit in flight holds one more connection here for its user lock


class UnitWorker:
    """Runs units at most once in effect (see module doc)."""

    def __init__(self, parts: WorkerParts) -> None:
        _require_postgresql(parts.db.url.drivername)
        self.parts = parts
        self.db = parts.db
        self.sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(self.db)
        self._scans: dict[tuple[dt.datetime, str], asyncio.Task[ExchangeScan]] = {}

    @asynccontextmanager
    async def user_lock(self, user_id: int) -> AsyncIterator[None]:
        async with self.db.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            key = _unit_lock_key(user_id)
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})

    async def run_message(
        self,
        kind: str,
        cycle_ms: int,
        now_ms: int,
        user_id: int,
        exchange_id: str,
        connection_id: int | None,
        deadline_ms: int | None = None,
    ) -> bool:
        """`run` for a `run_unit` message's arguments (`deadline_ms`: absent from older messages)."""
        deadline = None if deadline_ms is None else deadline_ms / 1000
        unit = UserUnit(user_id, exchange_id, connection_id)
        return await self.run(kind, from_ms(cycle_ms), from_ms(now_ms), unit, deadline=deadline)

    async def run(
        self, kind: str, at: dt.datetime, now: dt.datetime, unit: UserUnit, *, deadline: float | None = None
    ) -> bool:
        """Run the unit unless it is already recorded; True when it is recorded here. Past `deadline`
        (wall-clock epoch seconds; the wait for the user's lock included) it is recorded as
        `UnitExpired` without running."""
        started = time.perf_counter()
        outcome = "cut_off"
        try:
            ran = await self._run(kind, at, now, unit, started, deadline)
            outcome = "skipped" if not ran else "done"
            return ran
        finally:
            TASK_UNITS.labels(kind, outcome).inc()
            TASK_UNIT_SECONDS.labels(kind).observe(time.perf_counter() - started)

    async def _run(
        self,
        kind: str,
        at: dt.datetime,
        now: dt.datetime,
        unit: UserUnit,
        started: float,
        deadline: float | None,
    ) -> bool:
        async with self.user_lock(unit.user_id):
            if await self._done(kind, at, unit):
                return False
            self.parts.set_now(now)
            record: dict[str, Any] = {}
            if deadline is not None and time.time() > deadline:
                log.warning(
                    "unit expired in the queue",
                    extra={"user_id": unit.user_id, "exchange": unit.exchange_id, "kind": kind},
                )
                await self._record(kind, at, unit, {"error": UnitExpired.__name__})
                return True
            try:
                if kind == ENTER:
                    scan = await self._scan(at, unit.exchange_id)
                    record = outcome_record(await self.parts.units.enter(unit, scan))
                elif kind == MANAGE:
                    await self.parts.units.manage(unit, at)
                elif kind == RECONCILE:
                    await self.parts.units.reconcile(unit, at)
                else:
                    raise ValueError(f"unknown unit kind {kind!r}")
            except (asyncio.CancelledError, dramatiq.middleware.Interrupt):
                raise  # cut off (time limit, shutdown): not done, the broker redelivers
            except Exception as e:  # failed for good this cycle, as in-process; the next cycle tries again
                record = {"error": type(e).__name__}
                log.warning(
                    "unit failed: %s",
                    type(e).__name__,
                    extra={"user_id": unit.user_id, "exchange": unit.exchange_id, "kind": kind},
                )
            # Who ran it and for how long: the operator page's workers and per-role timings.
            record = {**record, "worker": WORKER_NAME, "seconds": round(time.perf_counter() - started, 4)}
            await self._record(kind, at, unit, record)
            return True

    async def _record(self, kind: str, at: dt.datetime, unit: UserUnit, record: dict[str, Any]) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert(EngineUnitRow)
                .values(
                    kind=kind,
                    cycle_at=at,
                    exchange_id=unit.exchange_id,
                    user_id=unit.user_id,
                    finished_at=dt.datetime.now(dt.UTC),
                    outcome=record,
                )
                .on_conflict_do_nothing()
            )

    async def _done(self, kind: str, at: dt.datetime, unit: UserUnit) -> bool:
        async with self.sessions() as session:
            found = await session.scalar(
                select(EngineUnitRow.user_id).where(
                    EngineUnitRow.kind == kind,
                    EngineUnitRow.cycle_at == at,
                    EngineUnitRow.exchange_id == unit.exchange_id,
                    EngineUnitRow.user_id == unit.user_id,
                )
            )
        return found is not None

    async def _scan(self, at: dt.datetime, exchange_id: str) -> ExchangeScan:
        key = (at, exchange_id)
        task = self._scans.get(key)
        if task is None or (task.done() and task.exception() is not None):
            task = self._scans[key] = asyncio.create_task(self._load_scan(at, exchange_id))
            for old in [k for k in self._scans if k[0] < at - dt.timedelta(days=1)]:
                del self._scans[old]
        return await asyncio.shield(task)

    async def _load_scan(self, at: dt.datetime, exchange_id: str) -> ExchangeScan:
        async with self.sessions() as session:
            body = await session.scalar(
                select(EngineSharedScanRow.body).where(
                    EngineSharedScanRow.cycle_at == at, EngineSharedScanRow.exchange_id == exchange_id
                )
            )
        if body is None:
            raise LookupError(f"no stored scan for {exchange_id} at {at.isoformat()}")
        return decode_scan(body)  # typed JSON: a tampered row is refused, never run (scan_codec.py)

    async def close(self) -> None:
        await self.parts.close()


_build: Callable[[int], Awaitable[WorkerParts]] | None = None
_threads = 1
_worker: asyncio.Task[UnitWorker] | None = None


async def _unit_worker() -> UnitWorker:
    global _worker
    if _worker is None:
        if _build is None:
            raise RuntimeError("this process is not a unit worker (run `qari worker`)")

        async def build() -> UnitWorker:
            assert _build is not None
            return UnitWorker(await _build(_threads))

        _worker = asyncio.create_task(build())
    return await _worker


@dramatiq.actor(queue_name=QUEUE, max_retries=20, min_backoff=500, max_backoff=30_000, time_limit=300_000)
async def run_unit(
    kind: str,
    cycle_ms: int,
    now_ms: int,
    user_id: int,
    exchange_id: str,
    connection_id: int | None,
    deadline_ms: int | None = None,
) -> None:
    worker = await _unit_worker()
    await worker.run_message(kind, cycle_ms, now_ms, user_id, exchange_id, connection_id, deadline_ms)


class _CloseUnits(dramatiq.Middleware):
    """Closes the worker's units (exchange sessions, database) on its event loop while that still runs:
    placed before `AsyncIO`, whose shutdown hook stops the loop."""

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = get_event_loop_thread()
        if _worker is None or thread is None or not _worker.done() or _worker.exception() is not None:
            return
        try:
            thread.run_coroutine(_worker.result().close())
        except Exception as e:  # leaving anyway; the connections die with the process
            log.warning("could not close the worker's units: %s", type(e).__name__)


def run_worker(build: Callable[[int], Awaitable[WorkerParts]], threads: int) -> None:
    """This process as one task-engine worker with `threads` units in flight, until SIGTERM/SIGINT,
    which drains it: no new messages, the ones in flight finish (or return to the broker)."""
    global _build, _threads
    _build, _threads = build, threads
    broker = dramatiq.get_broker()
    broker.add_middleware(_CloseUnits(), before=AsyncIO)
    worker = dramatiq.Worker(broker, worker_threads=threads)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    log.info("task worker started", extra={"threads": threads, "pid": os.getpid()})
    probe.set_state("consuming")
    stop.wait()
    probe.set_state("draining")
    worker.stop(timeout=30_000)
    broker.close()


def spawn_worker(env: Mapping[str, str], threads: int) -> subprocess.Popen[bytes]:
    """`qari worker` as a child process (benchmarks and tests start several and kill some)."""
    return subprocess.Popen(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", "qari", "worker", "--threads", str(threads)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), **env},
    )
