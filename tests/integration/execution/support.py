"""Helpers shared by the execution tests."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine
from qari.services import accounts

START = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)


async def migrated_engine(url: str) -> AsyncEngine:
    await asyncio.to_thread(migrate.upgrade, url)
    return make_engine(url)


async def register_user(sessions: async_sessionmaker[AsyncSession], email: str = "trader@example.com") -> int:
    async with sessions() as session, session.begin():
        user = await accounts.register(session, email=email, password="Correct-Horse-9-Battery", now=START)
        return int(user.id)
