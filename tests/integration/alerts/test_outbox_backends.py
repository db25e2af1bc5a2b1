"""Outbox on SQLite and PostgreSQL: idempotent emit, and competing workers never send a row twice."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.integration.alerts.support import CHAT, FAST, TRADE, linked_user, open_rows, wait_until
from tests.integration.alerts.telegram_standin import TelegramStandIn

from qari.adapters.notify.outbox import OutboxWorker
from qari.adapters.notify.telegram import TelegramClient
from qari.adapters.persistence import migrate
from qari.adapters.persistence.alerts import UnknownAlertKindError, emit_alert
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.tables.alerts import AlertOutbox
from qari.core.clocks import ManualClock

ALERTS = 20


@pytest.fixture
async def backend(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = make_engine(database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def count_rows(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AlertOutbox)) or 0)


async def test_emit_when_same_dedupe_key_from_concurrent_transactions_then_one_row(
    backend: async_sessionmaker[AsyncSession],
) -> None:
    user = await linked_user(backend)

    async def emit_once() -> None:
        async with backend() as session, session.begin():
            await emit_alert(session, user_id=user, kind="pt1", data=TRADE, dedupe_key="pos-7:pt1")

    await asyncio.gather(*(emit_once() for _ in range(5)))
    async with backend() as session, session.begin():
        await emit_alert(session, user_id=user, kind="pt2", data=TRADE)
        await emit_alert(session, user_id=user, kind="pt2", data=TRADE)  # no key: two alerts
    assert await count_rows(backend) == 3


async def test_emit_when_caller_rolls_back_then_no_alert(backend: async_sessionmaker[AsyncSession]) -> None:
    user = await linked_user(backend)
    async with backend() as session, session.begin():
        await emit_alert(session, user_id=user, kind="stop_loss", data=TRADE)
        await session.rollback()
    with pytest.raises(UnknownAlertKindError, match="stop_loss"):
        async with backend() as session, session.begin():
            await emit_alert(session, user_id=user, kind="stoploss", data=TRADE)
    assert await count_rows(backend) == 0


async def test_outbox_when_three_workers_compete_then_each_alert_sent_exactly_once(
    backend: async_sessionmaker[AsyncSession], standin: TelegramStandIn, telegram: TelegramClient
) -> None:
    user = await linked_user(backend)
    async with backend() as session, session.begin():
        for n in range(ALERTS):
            await emit_alert(
                session, user_id=user, kind="entry_leg1", data={**TRADE, "price": str(60000 + n)}
            )
    stop = asyncio.Event()
    workers = [OutboxWorker(backend, telegram, policy=FAST) for _ in range(3)]
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        await wait_until(lambda: len(standin.sent_to(CHAT)) >= ALERTS, seconds=30)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    texts = standin.sent_to(CHAT)
    assert len(texts) == ALERTS and len(set(texts)) == ALERTS
    assert await open_rows(backend) == 0


async def test_outbox_when_rows_older_than_retention_then_only_finished_ones_purged(
    backend: async_sessionmaker[AsyncSession], telegram: TelegramClient
) -> None:
    user = await linked_user(backend)
    long_ago = ManualClock(dt.datetime.now(dt.UTC) - dt.timedelta(days=40))
    async with backend() as session, session.begin():
        for kind in ("pt1", "pt2"):
            await emit_alert(session, user_id=user, kind=kind, data=TRADE, clock=long_ago)
        await session.execute(update(AlertOutbox).where(AlertOutbox.kind == "pt1").values(status="sent"))
    assert await OutboxWorker(backend, telegram, policy=FAST).purge(dt.datetime.now(dt.UTC)) == 1
    async with backend() as session:
        assert list(await session.scalars(select(AlertOutbox.kind))) == ["pt2"]
