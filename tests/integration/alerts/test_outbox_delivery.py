"""The outbox worker against the Telegram stand-in: each kind once, 429 retry_after, 5xx back-off."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.integration.alerts.support import CHAT, FAST, TRADE, drain, linked_user
from tests.integration.alerts.telegram_standin import Fault, TelegramStandIn

from qari.adapters.notify.outbox import OutboxWorker
from qari.adapters.notify.telegram import TelegramClient
from qari.adapters.persistence.alerts import ALERT_KINDS, emit_alert
from qari.adapters.persistence.tables.alerts import AlertOutbox


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
    assert all("BTC/USDT" in t and "+12.40 USDT" in t and "+1.30R" in t for t in texts)


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
