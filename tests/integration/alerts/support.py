"""Shared helpers for the alerts tests (import from here, not from conftest)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.notify.outbox import OutboxPolicy, OutboxWorker
from qari.adapters.persistence.tables.accounts import User
from qari.adapters.persistence.tables.alerts import AlertOutbox, TelegramLink
from qari.config import load_settings

BOT_TOKEN = "7000001:AAH-test-token-Zx9qY3vB7nQ2kLmP0sT"
CHAT = 424242
FAST = OutboxPolicy(lease=dt.timedelta(seconds=5), backoff_base=0.05, idle_poll=0.02)
TRADE = {"symbol": "BTC/USDT", "price": "64210.5", "size": "0.0123", "pnl_usdt": "12.40", "pnl_r": "1.3"}


async def make_user(sessions: async_sessionmaker[AsyncSession], user_id: int) -> int:
    async with sessions() as session, session.begin():
        session.add(
            User(
                id=user_id,
                email=f"user{user_id}@example.com",
                password_hash="not-a-real-hash",
                trial_ends_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=14),
            )
        )
    return user_id


async def linked_user(sessions: async_sessionmaker[AsyncSession], user_id: int = 1, chat: int = CHAT) -> int:
    await make_user(sessions, user_id)
    async with sessions() as session, session.begin():
        session.add(TelegramLink(user_id=user_id, chat_id=chat, linked_at=dt.datetime.now(dt.UTC)))
    return user_id


async def wait_until(predicate: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def open_rows(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        ids = await session.scalars(
            select(AlertOutbox.id).where(AlertOutbox.status.in_(("pending", "sending")))
        )
        return len(list(ids))


async def drain(
    worker: OutboxWorker, sessions: async_sessionmaker[AsyncSession], seconds: float = 10
) -> None:
    """Run the worker until no row is pending or sending (bounded)."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        deadline = time.monotonic() + seconds
        while await open_rows(sessions):
            if time.monotonic() > deadline:
                raise AssertionError("outbox did not drain in time")
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@asynccontextmanager
async def app_with_telegram(
    tmp_path: Path, api_base: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The started web app with a bot token and Telegram at `api_base`, and a client for it."""
    from qari.web.app import create_app

    settings = load_settings(
        data_dir=tmp_path / "var",
        master_key_file=tmp_path / "keys" / "master.key",
        engine_mode="off",
        telegram_bot_token=BOT_TOKEN,
        telegram_api_base=api_base,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield app, client
