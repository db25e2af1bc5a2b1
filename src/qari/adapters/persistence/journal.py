"""The journal an engine over a fixed set of users writes to (backtests, stepped sandbox runs, benchmarks,
tests): the SQL one, migrated and with a row per user, or, with no database, the in-memory one.

The SQL parts are imported only when a database is asked for, so a backtest never loads the migrations.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

from qari.core.time import Clock


async def open_database(database_url: str, concurrent_units: int = 0) -> tuple[Any, Any]:
    """(engine, sessionmaker) on a migrated database, its pool sized for `concurrent_units`."""
    from qari.adapters.persistence import migrate
    from qari.adapters.persistence.db import engine_pool, make_engine, make_sessionmaker

    await asyncio.to_thread(migrate.upgrade, database_url)
    db = make_engine(database_url, **engine_pool(database_url, concurrent_units))
    return db, make_sessionmaker(db)


async def ensure_users(sessions: Any, user_ids: Sequence[int]) -> None:
    """Static users (backtests, stepped sandbox runs, benchmarks) get a row: the journal refers to it."""
    from sqlalchemy import select

    from qari.adapters.persistence.tables.accounts import User

    async with sessions() as session, session.begin():
        known = set((await session.execute(select(User.id).where(User.id.in_(list(user_ids))))).scalars())
        session.add_all(
            User(
                id=user_id,
                email=f"engine-user-{user_id}@qari.invalid",
                password_hash="!",  # noqa: S106 - no login: "!" matches no Argon2 hash
                plan_tier="premium",
                trial_ends_at=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
                waiver=True,
            )
            for user_id in user_ids
            if user_id not in known
        )


async def open_journal(
    database_url: str | None, user_ids: Sequence[int], clock: Clock, concurrent_units: int = 0
) -> tuple[Any, Any, Any, Any]:
    """(store, entry lock, db, sessions): the SQL journal, or, with no database (backtests), memory."""
    if database_url is None:
        from qari.adapters.persistence.memory import MemoryEntryLock, MemoryTradingStore

        return MemoryTradingStore(), MemoryEntryLock(), None, None
    from qari.adapters.locks import entry_lock_for
    from qari.adapters.persistence.repositories.trading import SqlTradingStore

    db, sessions = await open_database(database_url, concurrent_units)
    await ensure_users(sessions, user_ids)
    return SqlTradingStore(sessions), entry_lock_for(db, sessions, clock), db, sessions
