"""Async engine and session factory. SQLite runs in WAL mode; PostgreSQL via QARI_DATABASE_URL.

SQLite has one writer at a time; a second connection that wants to write waits in SQLite's busy
handler, which sleeps in growing steps (up to 100 ms) and polls. With many concurrent units of work in
one process that turns a sub-millisecond commit into a queue of sleepers (the cycle benchmark spent
most of its time there). So on SQLite, sessions made by `make_sessionmaker` take a per-database,
per-event-loop asyncio lock for every `session.begin()` block: writers of this process queue in FIFO
order and wake the moment the previous one commits. Other processes still meet the busy handler.
The lock is re-entrant for the task holding it, so nested transactions behave as they did before.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    AsyncSessionTransaction,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolResetState

from qari.adapters.persistence import sqlite_driver
from qari.adapters.persistence.live import SINK_KEY, LiveSyncSession
from qari.ports import LiveEventSink


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # Statement parameters (e-mails, tokens, sealed blobs) never appear in exception text or tracebacks.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        # SQLAlchemy's "custom reset" recipe: the pool rolls a returned connection back only when
        # SQLite says a transaction is still open; after a commit or a session's rollback that would
        # be one more round trip to aiosqlite's thread for nothing.
        kwargs.setdefault("pool_reset_on_return", None)
        if make_url(url).get_driver_name() == "aiosqlite":
            kwargs.setdefault("module", sqlite_driver.dbapi())  # one thread trip per statement
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "reset", _reset_if_in_transaction)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            (journal_mode,) = cursor.fetchone()
            sqlite_driver.allow_inline_writes(dbapi_connection, str(journal_mode))
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def _reset_if_in_transaction(dbapi_connection: Any, _record: Any, reset_state: PoolResetState) -> None:
    """The pool's default rollback-on-return, skipped where SQLite has no transaction open."""
    if not reset_state.asyncio_safe or reset_state.transaction_was_reset:
        return  # where the default reset does nothing either
    # aiosqlite's connection (inside SQLAlchemy's adapter) reads sqlite3's flag without a thread hop.
    driver = getattr(dbapi_connection, "_connection", dbapi_connection)
    if getattr(driver, "in_transaction", None) is False:
        return
    dbapi_connection.rollback()


WRITER_WAIT_SECONDS = 30  # as long as SQLite's busy_timeout below


class _WriterQueue:
    """A re-entrant (per task) asyncio lock, re-made when used from another event loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._depth = 0

    async def acquire(self) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            self._depth += 1
            return
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._lock, self._owner, self._depth = loop, asyncio.Lock(), None, 0
        try:
            async with asyncio.timeout(WRITER_WAIT_SECONDS):
                await self._lock.acquire()
        except TimeoutError:
            # What SQLite's own busy_timeout would have said, instead of waiting forever on a
            # transaction this process never finishes (e.g. one held open across two tasks).
            raise OperationalError(
                "BEGIN", None, TimeoutError(f"database is locked: waited {WRITER_WAIT_SECONDS} s")
            ) from None
        self._owner, self._depth = task, 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()


_WRITERS: weakref.WeakKeyDictionary[Engine, _WriterQueue] = weakref.WeakKeyDictionary()


def _writers(bind: Any) -> _WriterQueue | None:
    engine = getattr(bind, "sync_engine", bind)
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        return None
    queue = _WRITERS.get(engine)
    if queue is None:
        queue = _WRITERS[engine] = _WriterQueue()
    return queue


class _QueuedBegin:
    """`session.begin()` that first takes its place in the database's writer queue."""

    def __init__(self, transaction: AsyncSessionTransaction, queue: _WriterQueue) -> None:
        self._transaction = transaction
        self._queue = queue

    async def __aenter__(self) -> AsyncSessionTransaction:
        await self._queue.acquire()
        try:
            return await self._transaction.__aenter__()
        except BaseException:
            self._queue.release()
            raise

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self._transaction.__aexit__(*exc)
        finally:
            self._queue.release()


class QueuedWriteSession(AsyncSession):
    """An `AsyncSession` whose `begin()` blocks queue for SQLite's single writer (see module doc), and
    whose commits send the live events noted in them (`persistence/live.py`)."""

    sync_session_class = LiveSyncSession

    def begin(self) -> Any:
        transaction = super().begin()
        queue = _writers(self.bind)
        return transaction if queue is None else _QueuedBegin(transaction, queue)


def engine_pool(url: str, concurrent_units: int) -> dict[str, int]:
    """Connection pool for a process running `concurrent_units` users' engine work at once.

    On PostgreSQL every unit in flight holds one connection for its entry locks (advisory locks live
    on a connection) and briefly needs another for the journal, so the pool must exceed the units;
    SQLite (one file, one writer) keeps SQLAlchemy's default."""
    if concurrent_units <= 0 or url.startswith("sqlite"):
        return {}
    return {"pool_size": concurrent_units + 8, "max_overflow": 8}


def make_sessionmaker(
    engine: AsyncEngine, *, live: LiveEventSink | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; `live`: where a SQLite database's committed live events go (in-process;
    PostgreSQL sends them with NOTIFY whatever `live` is, see `persistence/live.py`)."""
    info = {} if live is None else {SINK_KEY: live}
    return async_sessionmaker(engine, class_=QueuedWriteSession, expire_on_commit=False, info=info)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on error."""
    async with sessions() as session, session.begin():
        yield session
