"""SQLite statements make one trip to aiosqlite's connection thread (none once their transaction holds
the write lock), with aiosqlite's results; whatever may wait for a lock waits off the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from qari.adapters.persistence.db import make_engine

ROWS = Table("rows", MetaData(), Column("id", Integer, primary_key=True), Column("name", String, unique=True))


class _Trips:
    """Counts calls queued on aiosqlite connections' threads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = aiosqlite.Connection._execute

        async def counted(connection: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await original(connection, fn, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)

    async def of(self, step: Callable[[], Awaitable[Any]]) -> int:
        before = self.count
        await step()
        return self.count - before


async def _scenario(conn: AsyncConnection) -> list[object]:
    """Inserts (one, many, RETURNING), a read, an update's row count, a constraint error, a stream."""
    seen: list[object] = []
    await conn.run_sync(ROWS.metadata.create_all)
    first = await conn.execute(insert(ROWS).values(name="a"))
    seen.append(first.inserted_primary_key)
    await conn.execute(insert(ROWS), [{"name": "b"}, {"name": "c"}])
    seen.append((await conn.execute(insert(ROWS).values(name="d").returning(ROWS.c.id))).all())
    seen.append((await conn.execute(select(ROWS).order_by(ROWS.c.id))).all())
    renamed = await conn.execute(update(ROWS).where(ROWS.c.id > 2).values(name=ROWS.c.name + "!"))
    seen.append(renamed.rowcount)
    with pytest.raises(IntegrityError):
        await conn.execute(insert(ROWS).values(name="a"))
    seen.append([tuple(r) async for r in await conn.stream(select(ROWS.c.name).order_by(ROWS.c.name))])
    seen.append(await conn.scalar(text("PRAGMA journal_mode")))
    return seen


async def test_statements_when_run_then_one_thread_trip_each_and_none_once_the_transaction_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    trips = _Trips(monkeypatch)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(ROWS.metadata.create_all)
        async with engine.connect() as conn:
            read = await trips.of(lambda: conn.execute(select(ROWS)))
            await conn.rollback()
        async with engine.begin() as conn:
            first_write = await trips.of(lambda: conn.execute(insert(ROWS).values(name="a")))
            insert_many = await trips.of(lambda: conn.execute(insert(ROWS), [{"name": "b"}, {"name": "c"}]))
            read_back = await trips.of(lambda: conn.execute(select(ROWS)))
            write = await trips.of(lambda: conn.execute(update(ROWS).values(name=ROWS.c.name + "?")))
            commit = await trips.of(conn.commit)
        async with engine.begin() as conn:
            next_first_write = await trips.of(lambda: conn.execute(insert(ROWS).values(name="d")))
    finally:
        await engine.dispose()

    # plain aiosqlite under SQLAlchemy: cursor, execute, (fetch,) close: 3-4 trips for every statement
    assert (read, first_write, commit, next_first_write) == (1, 1, 1, 1)
    assert (insert_many, read_back, write) == (0, 0, 0)  # the write lock is held: on the loop's thread


async def test_first_write_when_another_process_holds_the_write_lock_then_waits_off_the_event_loop(
    tmp_path: Path,
) -> None:
    # Arrange: another connection (as another process would) holds SQLite's write lock for 0.5 s
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(ROWS.metadata.create_all)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with engine.begin() as conn:
            await conn.execute(insert(ROWS).values(name="waited"))  # waits for the lock
            await conn.execute(insert(ROWS).values(name="then"))  # holds it: runs inline

    ticker = asyncio.create_task(tick())
    try:
        # Act
        writer = asyncio.create_task(write())
        await asyncio.sleep(0.5)
        assert not writer.done()
        other.execute("COMMIT")
        await asyncio.wait_for(writer, 10)
    finally:
        ticker.cancel()
        other.close()
        await engine.dispose()

    # Assert: the event loop kept running while the write waited for the other writer
    assert ticks >= 25


async def test_results_when_one_trip_then_same_as_plain_aiosqlite(tmp_path: Path) -> None:
    async def run(engine: AsyncEngine) -> list[object]:
        try:
            async with engine.begin() as conn:
                return await _scenario(conn)
        finally:
            await engine.dispose()

    plain = await run(create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'plain.db'}"))
    ours = await run(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'ours.db'}"))

    assert ours[:-1] == plain[:-1]
    assert ours[2] == [(1, "a"), (2, "b"), (3, "c"), (4, "d")] and ours[3] == 2
    assert ours[-1] == "wal" and plain[-1] == "delete"  # make_engine's own pragma, read back


async def test_transaction_when_a_statement_fails_then_rollback_undoes_the_others(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'tx.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(ROWS.metadata.create_all)
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(insert(ROWS).values(name="x"))
                await conn.execute(insert(ROWS).values(name="x"))
        async with engine.connect() as conn:
            assert await conn.scalar(select(ROWS.c.id).limit(1)) is None
    finally:
        await engine.dispose()


async def test_session_close_when_it_only_read_then_no_trip_and_when_it_wrote_then_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sqlite3 opens no transaction for a SELECT, so the rollback that ends a reading session (every
    GET of the web role) has nothing to undo and costs no trip; one after a write still undoes it."""
    from qari.adapters.persistence.db import make_sessionmaker

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'close.db'}")
    trips = _Trips(monkeypatch)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(ROWS.metadata.create_all)
        sessions = make_sessionmaker(engine)
        async with sessions() as session:
            await session.execute(select(ROWS))
            closing_a_read = await trips.of(session.close)
        async with sessions() as session:
            await session.execute(insert(ROWS).values(name="undone"))
            closing_a_write = await trips.of(session.close)
        async with sessions() as session:
            left = (await session.execute(select(ROWS))).all()
    finally:
        await engine.dispose()

    assert closing_a_read == 0
    assert closing_a_write == 1 and left == []
