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

`dbapi()` gives SQLAlchemy's aiosqlite DBAPI adapter over this; `make_engine` passes it as `module=`.
"""

from __future__ import annotations

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
        self._rows: list[Any] = []
        self._description: _Description = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    async def _statement(self, sql: str, parameters: Any, many: bool) -> OneHopCursor:
        outcome: _Outcome = await self._conn._execute(_run, self._conn._conn, sql, parameters, many)
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
    @contextmanager
    async def cursor(self) -> aiosqlite.Cursor:
        return OneHopCursor(self)  # nothing to do on the thread until a statement runs


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
