"""A restart mid-send neither loses nor duplicates an alert (and the one honest residual).

The worker runs in a child process that is SIGKILLed while the stand-in holds its sendMessage call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.integration.alerts.support import BOT_TOKEN, CHAT, FAST, TRADE, drain, linked_user, wait_until
from tests.integration.alerts.telegram_standin import TelegramStandIn

from qari.adapters.notify.outbox import OutboxPolicy, OutboxWorker
from qari.adapters.notify.telegram import TelegramClient
from qari.adapters.persistence.alerts import emit_alert
from qari.adapters.persistence.tables.alerts import AlertOutbox
from qari.config import load_settings
from qari.web.telegram import telegram_alerts

LEASE = 1.5
PROCESS = Path(__file__).with_name("outbox_process.py")
REPEAT_NOTE = "you may have received this already"


async def kill_worker_mid_send(alerts_db_url: str, standin: TelegramStandIn) -> None:
    env = {**os.environ, "QARI_TELEGRAM_BOT_TOKEN": BOT_TOKEN}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(PROCESS), alerts_db_url, standin.base_url, str(LEASE), env=env
    )
    try:
        await wait_until(lambda: standin.state.held == 1, seconds=20)
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, bool]]:
    async with sessions() as session:
        rows = await session.scalars(select(AlertOutbox).order_by(AlertOutbox.id))
        return [(r.status, r.in_doubt) for r in rows]


async def test_outbox_when_process_killed_before_api_took_message_then_delivered_once_after_restart(
    sessions: async_sessionmaker[AsyncSession],
    standin: TelegramStandIn,
    telegram: TelegramClient,
    alerts_db_url: str,
) -> None:
    user = await linked_user(sessions)
    async with sessions() as session, session.begin():
        await emit_alert(session, user_id=user, kind="stop_loss", data=TRADE)
    standin.state.hold = "before"
    await kill_worker_mid_send(alerts_db_url, standin)
    standin.state.hold = None
    assert await statuses(sessions) == [("sending", False)]
    assert standin.sent_to(CHAT) == []

    restarted = OutboxWorker(sessions, telegram, policy=OutboxPolicy(lease=dt.timedelta(seconds=LEASE)))
    await drain(restarted, sessions)
    texts = standin.sent_to(CHAT)
    assert len(texts) == 1 and texts[0].startswith("Stop-loss hit — BTC/USDT")
    assert await statuses(sessions) == [("sent", True)]


async def test_outbox_when_process_killed_after_api_took_message_then_resent_once_marked_as_repeat(
    sessions: async_sessionmaker[AsyncSession],
    standin: TelegramStandIn,
    telegram: TelegramClient,
    alerts_db_url: str,
) -> None:
    """The residual window (Telegram has it, "sent" not yet committed): at-least-once, labelled."""
    user = await linked_user(sessions)
    async with sessions() as session, session.begin():
        await emit_alert(session, user_id=user, kind="kill_switch_tripped", data={"reason": "daily loss"})
    standin.state.hold = "after"
    await kill_worker_mid_send(alerts_db_url, standin)
    standin.state.hold = None
    standin.state.release.set()

    await drain(OutboxWorker(sessions, telegram, policy=FAST), sessions)
    texts = standin.sent_to(CHAT)
    assert len(texts) == 2
    assert REPEAT_NOTE not in texts[0] and REPEAT_NOTE in texts[1]


async def test_outbox_when_web_process_stops_gracefully_mid_send_then_nothing_lost_or_repeated(
    sessions: async_sessionmaker[AsyncSession],
    standin: TelegramStandIn,
    alerts_db_url: str,
    tmp_path: Path,
) -> None:
    alerts = 3
    user = await linked_user(sessions)
    async with sessions() as session, session.begin():
        for n in range(alerts):
            await emit_alert(session, user_id=user, kind="pt1", data={**TRADE, "price": f"6500{n}"})
    settings = load_settings(
        data_dir=tmp_path, telegram_bot_token=BOT_TOKEN, telegram_api_base=standin.base_url
    )
    standin.state.hold = "after"
    async with telegram_alerts(sessions, settings, policy=FAST, poll_timeout=1) as runtime:
        assert runtime is not None
        await wait_until(lambda: standin.state.held == 1)
        standin.state.hold = None
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, standin.state.release.set)  # the answer comes while we are stopping
    # the in-flight alert was answered and recorded during the stop; nothing new was claimed
    assert len(standin.sent_to(CHAT)) == 1
    assert await statuses(sessions) == [("sent", False)] + [("pending", False)] * (alerts - 1)

    async with telegram_alerts(sessions, settings, policy=FAST, poll_timeout=1) as runtime:
        assert runtime is not None
        await wait_until(lambda: len(standin.sent_to(CHAT)) >= alerts)
    texts = standin.sent_to(CHAT)
    assert len(texts) == alerts
    assert len(set(texts)) == alerts
    assert all(REPEAT_NOTE not in t for t in texts)
