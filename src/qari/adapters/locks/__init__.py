"""Entry locks for gate check G10: PostgreSQL advisory locks, or a row lock on other databases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from qari.adapters.locks.pg_advisory import PgAdvisoryEntryLock
from qari.adapters.locks.row_lock import RowEntryLock
from qari.core.time import Clock


def entry_lock_for(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> PgAdvisoryEntryLock | RowEntryLock:
    if engine.dialect.name == "postgresql":
        return PgAdvisoryEntryLock(engine)
    return RowEntryLock(sessions, clock)
