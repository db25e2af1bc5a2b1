"""`LeaderLock`: one process of a deployment does a job that must not run twice at once (the Telegram
link poller: Telegram refuses a second `getUpdates` reader of one bot), whichever process that is.

- PostgreSQL: a session-level advisory lock on a connection of its own (outside the pool), so it holds
  across processes and machines sharing the database; PostgreSQL frees it when the holder's
  connection ends, and the holder learns of that loss (`lost`) and stops the job.
- SQLite: every process sharing the file is on this machine, so an exclusive `flock` on a file beside
  the database; the kernel frees it when the holder dies.

`run_as_leader` tries every `retry` seconds; the process that holds the lock runs the job until it is
told to stop or loses the lock, and then releases it for the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import IO, Protocol

import asyncpg
from sqlalchemy import make_url

log = logging.getLogger(__name__)


def leader_key(name: str) -> int:
    digest = hashlib.sha256(f"qari-leader:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LeaderLock(Protocol):
    lost: asyncio.Event  # set when a held lock was taken away (its connection ended)

    async def try_acquire(self) -> bool: ...

    async def release(self) -> None: ...


class PgLeaderLock:
    def __init__(self, database_url: str, name: str) -> None:
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._key = leader_key(name)
        self._conn: asyncpg.Connection | None = None
        self.lost = asyncio.Event()

    async def try_acquire(self) -> bool:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._dsn)
            self._conn.add_termination_listener(lambda _c: self.lost.set())
        self.lost.clear()
        taken = bool(await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key))
        if not taken:  # keep no idle connection per standby process
            await self._close()
        return taken

    async def release(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await self._conn.execute("SELECT pg_advisory_unlock($1)", self._key)
        await self._close()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await conn.close(timeout=2)


class FileLeaderLock:
    def __init__(self, path: str) -> None:
        self._path = path
        self._file: IO[bytes] | None = None
        self.lost = asyncio.Event()  # a held flock is never taken away

    async def try_acquire(self) -> bool:
        file = open(self._path, "ab")  # noqa: SIM115 - kept open while held
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            return False
        self._file = file
        return True

    async def release(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)
            file.close()


def leader_lock(database_url: str, name: str) -> LeaderLock | None:
    """The lock for `name` on `database_url`'s database; None where no other process can share it
    (an in-memory SQLite database): then this process simply leads."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PgLeaderLock(database_url, name)
    if not url.database or url.database == ":memory:":
        return None
    return FileLeaderLock(f"{os.path.abspath(url.database)}.{name}.lock")


async def run_as_leader(
    lock: LeaderLock | None,
    job: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    *,
    name: str,
    retry: float = 10.0,
) -> None:
    """Run `job(until)` while this process holds `lock`, until `stop` is set; `until` is set when
    `stop` is or the lock is lost. A process that does not hold it tries again every `retry` s."""
    if lock is None:
        await job(stop)
        return
    announced = False
    while not stop.is_set():
        try:
            held = await lock.try_acquire()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            log.warning("%s: cannot reach the leader lock (%s)", name, type(e).__name__)
            held = False
        if not held:
            if not announced:
                log.info("%s: another process runs it; standing by", name)
                announced = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=retry)
            continue
        announced = False
        log.info("%s: this process runs it", name, extra={"pid": os.getpid()})
        until = asyncio.Event()
        watcher = asyncio.create_task(_either(stop, lock.lost, until))
        try:
            await job(until)
        finally:
            watcher.cancel()
            lost = lock.lost.is_set()  # (closing the connection on release sets it too)
            await lock.release()
        if lost and not stop.is_set():
            log.warning("%s: the leader lock was lost; trying again", name)


async def _either(first: asyncio.Event, second: asyncio.Event, then: asyncio.Event) -> None:
    waits = {asyncio.create_task(first.wait()), asyncio.create_task(second.wait())}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        then.set()
    finally:
        for task in waits:
            task.cancel()
