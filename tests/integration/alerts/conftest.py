"""Fixtures for the alerts tests: a migrated database, the Telegram stand-in, users."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Column, Integer, Table, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram_standin import TelegramStandIn

from qari.adapters.notify.telegram import TelegramClient
from qari.adapters.persistence import migrate, tables  # noqa: F401
from qari.adapters.persistence.base import Base
from qari.adapters.persistence.db import make_engine, make_sessionmaker

if "users" not in Base.metadata.tables:  # until the accounts tables (0001) land on main
    Table("users", Base.metadata, Column("id", Integer, primary_key=True))

BOT_TOKEN = "7000001:AAH-test-token-Zx9qY3vB7nQ2kLmP0sT"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def standin() -> Iterator[TelegramStandIn]:
    server = TelegramStandIn(BOT_TOKEN, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def telegram(standin: TelegramStandIn) -> AsyncIterator[TelegramClient]:
    client = TelegramClient(SecretStr(BOT_TOKEN), standin.base_url, timeout=3.0)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def alerts_db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'alerts.db'}"


@pytest.fixture
async def db_engine(alerts_db_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(migrate.upgrade, alerts_db_url)
    engine = make_engine(alerts_db_url)
    async with engine.begin() as conn:
        has_users = await conn.run_sync(lambda c: inspect(c).has_table("users"))
        if not has_users:  # until the accounts migration (0001) lands
            await conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY)"))
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(db_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(db_engine)


async def make_user(sessions: async_sessionmaker[AsyncSession], user_id: int) -> int:
    async with sessions() as session, session.begin():
        columns = {
            c["name"] for c in await session.run_sync(lambda s: inspect(s.connection()).get_columns("users"))
        }
        if "email" in columns:  # the accounts table (0001)
            await session.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, trial_ends_at) "
                    "VALUES (:id, :email, 'x', CURRENT_TIMESTAMP)"
                ),
                {"id": user_id, "email": f"user{user_id}@example.com"},
            )
        else:
            await session.execute(text("INSERT INTO users (id) VALUES (:id)"), {"id": user_id})
    return user_id
