"""Fixtures for the execution tests: a migrated SQLite database and the trade store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from qari.adapters.persistence.db import make_sessionmaker
from qari.adapters.persistence.repositories.trading import SqlTradingStore

from .support import migrated_engine


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'execution.db'}"


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await migrated_engine(sqlite_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(db: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(db)


@pytest.fixture
def store(sessions: async_sessionmaker[AsyncSession]) -> SqlTradingStore:
    return SqlTradingStore(sessions)
