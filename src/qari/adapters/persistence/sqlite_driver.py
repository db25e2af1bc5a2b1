"""aiosqlite with one trip to the connection's thread per statement.

aiosqlite runs every sqlite3 call on a thread of the connection's own, and SQLAlchemy's aiosqlite
dialect makes three or four such calls for one statement: create a cursor, execute, fetch the rows,
close the cursor. Each is a hand-over to that thread and back (a queue put, a thread wake-up, a
`call_soon_threadsafe` and an event-loop wake-up); in the cycle benchmark those hand-overs, not SQLite,
were a large part of the engine's CPU.

`OneHopConnection` is an `aiosqlite.Connection` whose cursors do the whole statement in one call on the
thread: a fresh sqlite3 cursor executes it, every row is fetched, the description, row count and last
row id are kept, and the cursor is closed. Everything else (commit, rollback, close, the thread) is
aiosqlite's. SQLAlchemy fetches every row of a (non-streaming) result right after executing anyway,
so results, row counts, last row ids, errors and transactions behave exactly as before; a
server-side (streaming) cursor gets its rows from memory instead of by chunks.

Once a transaction has written, the rest of it runs on the calling (event-loop) thread, with no trip
at all: the connection then holds SQLite's write lock until it commits or rolls back, and in WAL mode a
statement of the lock's holder never waits for another connection (readers never block a writer, and
the holder's cache spills go to the WAL), so it cannot block the loop on a lock; what remains is a few
tens of microseconds of SQLite work, less than the trip. Whatever may wait stays on the thread: the
first write of a transaction (it takes the lock, in SQLite's busy handler if another process holds
it), reads outside a write, and the commit (it syncs the WAL). This is on only where the connection is
known to be in WAL mode (`allow_inline_writes`, from `make_engine`'s pragmas).

`dbapi()` gives SQLAlchemy's aiosqlite DBAPI adapter over this; `make_engine` passes it as `module=`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import aiosqlite
from aiosqlite.context import contextmanager
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

_Description = tuple[tuple[str, None, None, None, None, None, None], ...] | None
_Outcome = tuple[list[Any], _Description, int, int | None]
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Outcome:
    """On the connection's thread: the whole statement, rows included."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return rows, description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(aiosqlite.Cursor):
    """aiosqlite's cursor API; `execute` does the statement and fetches its rows in one thread call."""

    def __init__(self, connection: OneHopConnection) -> None:  # no sqlite3 cursor is kept
        self.iter_chunk_size = connection._iter_chunk_size
        self._conn = connection
        self._connection = connection
        self._rows: list[Any] = []
        self._description: _Description = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    async def _statement(self, sql: str, parameters: Any, many: bool) -> OneHopCursor:
        connection = self._connection
        outcome: _Outcome
        if connection.holds_write_lock:  # nothing to wait for: see the module doc
            outcome = _run(connection._conn, sql, parameters, many)
        else:
            outcome = await connection._execute(_run, connection._conn, sql, parameters, many)
            connection.wrote(sql)
        self._rows, self._description, self._rowcount, self._lastrowid = outcome
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> OneHopCursor:
        return await self._statement(sql, [] if parameters is None else parameters, False)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> OneHopCursor:
        return await self._statement(sql, parameters, True)

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self._arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    @property
    def description(self) -> Any:
        return self._description


class OneHopConnection(aiosqlite.Connection):
    inline_writes = False  # WAL mode confirmed: see `allow_inline_writes`
    holds_write_lock = False  # the open transaction has written (until it commits or rolls back)

    @contextmanager
    async def cursor(self) -> aiosqlite.Cursor:
        return OneHopCursor(self)  # nothing to do on the thread until a statement runs

    def wrote(self, sql: str) -> None:
        """After a statement ran on the thread: a write inside a transaction took the write lock."""
        if self.inline_writes and _WRITE.match(sql) and self._conn.in_transaction:
            self.holds_write_lock = True

    async def commit(self) -> None:
        self.holds_write_lock = False  # whatever the outcome: from here on, on the thread again
        await super().commit()

    async def rollback(self) -> None:
        self.holds_write_lock = False
        if not self._conn.in_transaction:
            # What sqlite3's own rollback checks first (then does nothing), without the trip to the
            # thread: a session that only read (sqlite3 opens no transaction for a SELECT) ends for free.
            return
        await super().rollback()

    async def close(self) -> None:
        self.holds_write_lock = False
        await super().close()


def allow_inline_writes(dbapi_connection: Any, journal_mode: str) -> None:
    """Let a `OneHopConnection` (inside SQLAlchemy's adapter) run the rest of a written transaction on
    the calling thread, if its database is in WAL mode (`PRAGMA journal_mode` answered "wal")."""
    driver = getattr(dbapi_connection, "_connection", dbapi_connection)
    if isinstance(driver, OneHopConnection):
        driver.inline_writes = journal_mode.lower() == "wal"


class _Aiosqlite:
    """The `aiosqlite` module as SQLAlchemy's dialect uses it, connecting with `OneHopConnection`."""

    Connection = OneHopConnection

    def __getattr__(self, name: str) -> Any:
        return getattr(aiosqlite, name)

    @staticmethod
    def connect(
        database: str | Path | bytes, *, iter_chunk_size: int = 64, **kwargs: Any
    ) -> OneHopConnection:
        """`aiosqlite.connect`, making a `OneHopConnection`."""

        def connector() -> sqlite3.Connection:
            if isinstance(database, bytes):
                return sqlite3.connect(database.decode("utf-8"), **kwargs)
            return sqlite3.connect(str(database), **kwargs)

        return OneHopConnection(connector, iter_chunk_size)


def dbapi() -> Any:
    """SQLAlchemy's aiosqlite DBAPI adapter over one-trip cursors (`create_async_engine(module=...)`)."""
    return AsyncAdapt_aiosqlite_dbapi(cast(ModuleType, _Aiosqlite()), sqlite3)
