"""Users' units of work in worker processes: the cycle's `UserExecutor` spread over CPU cores.

A unit of work is plain data (`UserUnit`) plus the exchange's shared scan, so it can run anywhere.
`WorkerPool` starts `size` child processes (`python -m qari.engine.kernel --worker`; the kernel, the
composition root, builds each child's own `ExecutionUnits`: its own database connections, exchange
venue and clients) and talks to them over their stdin/stdout with length-prefixed pickles. A user
always goes to the same worker (`user_id % size`), so a worker's per-user state (last reconciliation)
stays its own. Each scan is sent to a worker once; jobs name it by a number.

`PooledExecutor` is the parent's `UserExecutor`: `EngineCycle` keeps its per-unit timeout and error
boundary around every call; an error raised in the worker comes back as the same exception type when
it can be pickled, else as `WorkerError`. The parent's clock reading goes with every job, so workers
in a stepped replay act at the engine's instant.

Only our own processes are on either end of the pipes (children of this process, spawned from this
interpreter), which is what makes pickle acceptable here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import os
import pickle
import struct
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from qari.engine.cycle import ExchangeScan, UserOutcome, UserUnit

log = logging.getLogger("qari.engine.workers")

_HEADER = struct.Struct("!I")


class WorkerError(RuntimeError):
    """A worker's failure that could not travel back as itself."""


async def _send(writer: asyncio.StreamWriter, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    writer.write(_HEADER.pack(len(data)) + data)
    await writer.drain()


async def _receive(reader: asyncio.StreamReader) -> Any:
    header = await reader.readexactly(_HEADER.size)
    (size,) = _HEADER.unpack(header)
    return pickle.loads(await reader.readexactly(size))  # noqa: S301 - our own child/parent only


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.scans: dict[int, int] = {}  # id(scan) -> number sent to this worker
        self.reader_task: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()  # one writer on the pipe at a time

    async def read_loop(self) -> None:
        assert self.process.stdout is not None
        try:
            while True:
                job, ok, value = await _receive(self.process.stdout)
                future = self.pending.pop(job, None)
                if future is not None and not future.done():
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError, EOFError):
            error = WorkerError(f"worker process {self.process.pid} ended")
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(error)
            self.pending.clear()


class WorkerPool:
    """One worker process per spec, each built from its spec by `python -m <module> --worker`."""

    def __init__(self, specs: Sequence[object], *, module: str = "qari.engine.kernel") -> None:
        self.specs = list(specs)
        self.size = len(self.specs)
        self.module = module
        self._workers: list[_Worker] = []
        self._jobs = itertools.count(1)
        self._scan_numbers = itertools.count(1)
        self._scans: dict[int, tuple[int, ExchangeScan]] = {}

    async def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        for spec in self.specs:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                self.module,
                "--worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
            )
            worker = _Worker(process)
            assert process.stdin is not None
            await _send(process.stdin, spec)
            worker.reader_task = asyncio.create_task(worker.read_loop(), name=f"qari-worker-{process.pid}")
            self._workers.append(worker)
        await asyncio.gather(*(self.call(i, "ping") for i in range(self.size)))

    def _scan_number(self, scan: ExchangeScan) -> int:
        known = self._scans.get(id(scan))
        if known is None or known[1] is not scan:
            known = self._scans[id(scan)] = (next(self._scan_numbers), scan)
            while len(self._scans) > 8:  # only the latest cycles' scans are ever asked for
                self._scans.pop(next(iter(self._scans)))
        return known[0]

    async def call(self, key: int, method: str, *args: Any, scan: ExchangeScan | None = None) -> Any:
        worker = self._workers[key % self.size]
        process = worker.process
        assert process.stdin is not None
        job = next(self._jobs)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        worker.pending[job] = future
        try:
            async with worker.lock:
                if scan is not None:
                    number = self._scan_number(scan)
                    if worker.scans.get(id(scan)) != number:
                        await _send(process.stdin, (0, "scan", (number, scan)))
                        worker.scans = {id(scan): number}
                    args = (number, *args)
                await _send(process.stdin, (job, method, args))
            return await future
        finally:
            worker.pending.pop(job, None)

    def cpu_seconds(self) -> float:
        """User + system CPU the worker processes have used so far (Linux /proc; 0 elsewhere)."""
        total = 0.0
        for worker in self._workers:
            try:
                with open(f"/proc/{worker.process.pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    async def close(self) -> None:
        for worker in self._workers:
            if worker.process.stdin is not None:
                worker.process.stdin.close()
        for worker in self._workers:
            try:
                await asyncio.wait_for(worker.process.wait(), 10)
            except TimeoutError:
                worker.process.kill()
                await worker.process.wait()
            if worker.reader_task is not None:
                worker.reader_task.cancel()
        self._workers.clear()


class Clocked(Protocol):
    def now(self) -> dt.datetime: ...


class PooledExecutor:
    """The cycle's `UserExecutor` over a `WorkerPool` (see module doc)."""

    def __init__(self, pool: WorkerPool, clock: Clocked) -> None:
        self.pool = pool
        self.clock = clock

    async def enter(self, unit: UserUnit, scan: ExchangeScan) -> UserOutcome:
        outcome: UserOutcome = await self.pool.call(unit.user_id, "enter", unit, self.clock.now(), scan=scan)
        return outcome

    async def manage(self, unit: UserUnit, at: dt.datetime) -> None:
        await self.pool.call(unit.user_id, "manage", unit, at, self.clock.now())

    async def reconcile(self, unit: UserUnit, at: dt.datetime | None = None) -> None:
        await self.pool.call(unit.user_id, "reconcile", unit, at, self.clock.now())


class UnitsLike(Protocol):
    async def enter(self, unit: UserUnit, scan: ExchangeScan) -> UserOutcome: ...

    async def manage(self, unit: UserUnit, at: dt.datetime) -> None: ...

    async def reconcile(self, unit: UserUnit, at: dt.datetime | None = None) -> None: ...


Built = tuple[UnitsLike, Callable[[dt.datetime], None], Callable[[], Awaitable[None]]]


def _portable(error: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301 - a round trip of our own object
    except Exception:  # whatever pickling raises, the parent still gets the type and message
        return WorkerError(f"{type(error).__name__}: {error}")
    return error


async def serve(build: Callable[[Any], Awaitable[Built]]) -> None:
    """The child's side: build the units from the spec on stdin, then run the jobs that arrive, up to
    the spec's `concurrency` at once, answering on stdout."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, sys.stdout.buffer)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    spec = await _receive(reader)
    units, set_now, close = await build(spec)
    scans: dict[int, ExchangeScan] = {}
    gate = asyncio.Semaphore(int(getattr(spec, "concurrency", 64)))
    write_lock = asyncio.Lock()
    running: set[asyncio.Task[None]] = set()

    async def answer(job: int, ok: bool, value: Any) -> None:
        async with write_lock:
            await _send(writer, (job, ok, value))

    async def run(job: int, method: str, args: Sequence[Any]) -> None:
        async with gate:
            try:
                if method == "ping":
                    result: Any = None
                elif method == "enter":
                    number, unit, now = args
                    set_now(now)
                    result = await units.enter(unit, scans[number])
                elif method == "manage":
                    unit, at, now = args
                    set_now(now)
                    await units.manage(unit, at)
                    result = None
                elif method == "reconcile":
                    unit, at, now = args
                    set_now(now)
                    await units.reconcile(unit, at)
                    result = None
                else:
                    raise WorkerError(f"unknown job {method!r}")
            except Exception as e:
                await answer(job, False, _portable(e))
                return
        await answer(job, True, result)

    try:
        while True:
            try:
                job, method, args = await _receive(reader)
            except asyncio.IncompleteReadError:
                break  # the parent closed our stdin: finish and leave
            if method == "scan":
                number, scan = args
                scans[number] = scan
                for old in [n for n in scans if n < number - 4]:
                    del scans[old]  # only the latest cycles' scans are ever asked for
                continue
            task = asyncio.create_task(run(job, method, args))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.gather(*running, return_exceptions=True)
    finally:
        await close()
