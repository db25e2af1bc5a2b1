"""Seeding helpers for the vault tests."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence.db import transaction
from qari.adapters.persistence.tables.accounts import User


async def add_users(sessions: async_sessionmaker[AsyncSession], n: int) -> list[int]:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    async with transaction(sessions) as s:
        users = [
            User(email=f"v{i}-{uuid.uuid4().hex[:8]}@example.com", password_hash="x", trial_ends_at=now)
            for i in range(n)
        ]
        s.add_all(users)
        await s.flush()
        return [u.id for u in users]
