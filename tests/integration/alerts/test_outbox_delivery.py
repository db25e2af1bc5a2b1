"""The outbox worker against the Telegram stand-in: each kind once, 429 retry_after, 5xx back-off."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram_standin import Fault, TelegramStandIn

from conftest import make_user
from qari.adapters.notify.outbox import OutboxPolicy, OutboxWorker
from qari.adapters.notify.telegram import TelegramClient
from qari.adapters.persistence.tables.alerts import AlertOutbox, TelegramLink
from qari.services.alerts import ALERT_KINDS, emit_alert

CHAT = 424242
FAST = OutboxPolicy(lease=dt.timedelta(seconds=5), backoff_base=0.05, idle_poll=0.02)
TRADE = {"symbol": "BTC/USDT", "price": "64210.5", "size": "0.0123", "pnl_usdt": "12.40", "pnl_r": "1.3"}


async def linked_user(sessions: async_sessionmaker[AsyncSession], user_id: int = 1, chat: int = CHAT) -> int:
    await make_user(sessions, user_id)
    async with sessions() as session, session.begin():
        session.add(TelegramLink(user_id=user_id, chat_id=chat, linked_at=dt.datetime.now(dt.UTC)))
    return user_id


async def drain(
    worker: OutboxWorker, sessions: async_sessionmaker[AsyncSession], seconds: float = 10
) -> None:
    """Run the worker until no row is pending or sending (bounded)."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            async with sessions() as session:
                open_rows = await session.scalars(
                    select(AlertOutbox.id).where(AlertOutbox.status.in_(("pending", "sending")))
                )
                if not list(open_rows):
                    return
            await asyncio.sleep(0.02)
        raise AssertionError("outbox did not drain in time")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_outbox_when_every_kind_emitted_then_each_delivered_exactly_once(
    sessions: async_sessionmaker[AsyncSession], standin: TelegramStandIn, telegram: TelegramClient
) -> None:
    user = await linked_user(sessions)
    async with sessions() as session, session.begin():
        for kind in ALERT_KINDS:
            await emit_alert(session, user_id=user, kind=kind, data=TRADE, dedupe_key=f"{kind}:1")
            await emit_alert(session, user_id=user, kind=kind, data=TRADE, dedupe_key=f"{kind}:1")
    await drain(OutboxWorker(sessions, telegram, policy=FAST), sessions)
    texts = standin.sent_to(CHAT)
    assert len(texts) == len(ALERT_KINDS)
    assert all("BTC/USDT" in t and "+12.40 USDT" in t and "+1.3R" in t for t in texts)


async def test_outbox_when_api_answers_429_then_waits_retry_after_before_resending(
    sessions: async_sessionmaker[AsyncSession], standin: TelegramStandIn, telegram: TelegramClient
) -> None:
    user = await linked_user(sessions)
    standin.fail_next_sends(Fault(429, retry_after=1))
    async with sessions() as session, session.begin():
        await emit_alert(session, user_id=user, kind="stop_loss", data=TRADE)
    await drain(OutboxWorker(sessions, telegram, policy=FAST), sessions)
    attempts = standin.state.send_attempts
    assert len(attempts) == 2
    assert attempts[1] - attempts[0] >= 1.0
    assert len(standin.sent_to(CHAT)) == 1


async def test_outbox_when_api_fails_with_5xx_then_backs_off_and_delivers_once(
    sessions: async_sessionmaker[AsyncSession], standin: TelegramStandIn, telegram: TelegramClient
) -> None:
    user = await linked_user(sessions)
    standin.fail_next_sends(Fault(502), Fault(500))
    async with sessions() as session, session.begin():
        await emit_alert(session, user_id=user, kind="pt1", data=TRADE)
    await drain(OutboxWorker(sessions, telegram, policy=FAST), sessions)
    assert len(standin.state.send_attempts) == 3
    assert len(standin.sent_to(CHAT)) == 1
    async with sessions() as session:
        row = (await session.scalars(select(AlertOutbox))).one()
    assert row.status == "sent" and row.attempts == 3 and not row.in_doubt
