"""SQLite writers of one process queue on an asyncio lock: in order, re-entrant, and never forever."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from qari.adapters.persistence import db as db_module
from qari.adapters.persistence.db import make_engine, make_sessionmaker


async def _table(tmp_path: Path) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    return engine, make_sessionmaker(engine)


async def test_writers_when_many_tasks_then_all_commit_and_nested_begin_is_reentrant(tmp_path: Path) -> None:
    engine, sessions = await _table(tmp_path)

    async def write(n: int) -> None:
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            async with sessions() as inner, inner.begin():
                await inner.execute(text("SELECT 1"))  # same task: must not wait on itself

    try:
        await asyncio.gather(*(write(n) for n in range(50)))
        async with sessions() as session:
            assert (await session.scalar(text("SELECT COUNT(*) FROM t"))) == 50
    finally:
        await engine.dispose()


async def test_writer_when_blocked_by_own_open_transaction_then_clear_error_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "WRITER_WAIT_SECONDS", 0.2)
    engine, sessions = await _table(tmp_path)

    async def other_task_write() -> None:
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t VALUES (2)"))

    try:
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t VALUES (1)"))
            with pytest.raises(OperationalError, match="database is locked"):
                await asyncio.create_task(other_task_write())  # a transaction held open across tasks
    finally:
        await engine.dispose()


async def test_pool_when_connection_returned_inside_a_driver_transaction_then_rolled_back(
    tmp_path: Path,
) -> None:
    # Arrange: one pooled connection, so the next checkout is the same one
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", pool_size=1, max_overflow=0)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    try:
        # Act: a write behind SQLAlchemy's back (its Connection knows no transaction to end)
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            await driver.execute("INSERT INTO t VALUES (1)")
            assert driver.in_transaction

        # Assert: the pool rolled it back on return; after a commit it has nothing to roll back
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None and not raw.driver_connection.in_transaction
            assert await conn.scalar(text("SELECT COUNT(*) FROM t")) == 0
        async with make_sessionmaker(engine)() as session, session.begin():
            await session.execute(text("INSERT INTO t VALUES (2)"))
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT COUNT(*) FROM t")) == 1
    finally:
        await engine.dispose()
