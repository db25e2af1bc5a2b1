"""Fixtures for the alerts tests: a migrated database (SQLite by default), the Telegram stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tests.conftest import free_port
from tests.integration.alerts.support import BOT_TOKEN, app_with_telegram
from tests.integration.alerts.telegram_standin import TelegramStandIn

from qari.adapters.notify.telegram import TelegramClient
from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker


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
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(db_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(db_engine)


@pytest.fixture
async def telegram_app(
    tmp_path: Path, standin: TelegramStandIn
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The web app with Telegram on, pointed at the stand-in; yields (app, client)."""
    async with app_with_telegram(tmp_path, standin.base_url) as started:
        yield started
