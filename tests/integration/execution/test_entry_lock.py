"""Gate check G10: the entry lock holds across connections (row lock) and processes (PG advisory)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from qari.adapters.locks import entry_lock_for
from qari.adapters.locks.pg_advisory import PgAdvisoryEntryLock
from qari.adapters.locks.row_lock import RowEntryLock
from qari.adapters.persistence.db import make_sessionmaker
from qari.core.clocks import ManualClock

from .support import START, migrated_engine


async def test_row_lock_when_held_then_second_attempt_refused_until_released(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    lock = RowEntryLock(sessions, ManualClock(START))
    async with (
        lock.hold(1, "SOL/USDT") as first,
        lock.hold(1, "SOL/USDT") as second,
        lock.hold(1, "ADA/USDT") as other_symbol,
    ):
        assert (first, second, other_symbol) == (True, False, True)
    async with lock.hold(1, "SOL/USDT") as again:
        assert again


async def test_row_lock_when_holder_died_then_lease_expiry_frees_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(START)
    stale = RowEntryLock(sessions, clock)
    hold = stale.hold(7, "SOL/USDT")
    assert await hold.__aenter__()  # the holder "dies" without releasing
    clock.advance(dt.timedelta(minutes=3))
    async with RowEntryLock(sessions, clock).hold(7, "SOL/USDT") as taken_over:
        assert taken_over


@pytest.mark.postgres
async def test_pg_advisory_lock_when_two_connections_race_then_one_wins(pg_url: str) -> None:
    engine: AsyncEngine = await migrated_engine(pg_url)
    try:
        lock = entry_lock_for(engine, make_sessionmaker(engine), ManualClock(START))
        assert isinstance(lock, PgAdvisoryEntryLock)
        results: list[bool] = []

        async def attempt() -> None:
            async with lock.hold(3, "SOL/USDT") as got:
                results.append(got)
                await asyncio.sleep(0.2)

        await asyncio.gather(attempt(), attempt())
        assert sorted(results) == [False, True]
        async with lock.hold(3, "SOL/USDT") as after:
            assert after
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_pg_advisory_hold_many_when_sets_overlap_then_each_symbol_held_once(pg_url: str) -> None:
    engine: AsyncEngine = await migrated_engine(pg_url)
    try:
        lock = entry_lock_for(engine, make_sessionmaker(engine), ManualClock(START))
        async with (
            lock.hold_many(3, ["SOL/USDT", "BTC/USDT"]) as first,
            lock.hold_many(3, ["BTC/USDT", "ETH/USDT", "ETH/USDT"]) as second,
            lock.hold_many(4, ["BTC/USDT"]) as other_user,
            lock.hold_many(3, []) as nothing,
        ):
            assert first == {"SOL/USDT", "BTC/USDT"}
            assert second == {"ETH/USDT"}
            assert other_user == {"BTC/USDT"}
            assert nothing == frozenset()
        async with lock.hold_many(3, ["SOL/USDT", "BTC/USDT", "ETH/USDT"]) as after:
            assert after == {"SOL/USDT", "BTC/USDT", "ETH/USDT"}
    finally:
        await engine.dispose()
