"""Linking a chat with `/start <code>` through getUpdates on the stand-in."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.integration.alerts.support import make_user
from tests.integration.alerts.telegram_standin import TelegramStandIn

from qari.adapters.notify.telegram import TelegramClient
from qari.core.clocks import ManualClock
from qari.services import alerts
from qari.web.telegram import BAD_CODE, LINKED, UNLINKED, TelegramLinkPoller

CHAT = 9100


async def new_code(sessions: async_sessionmaker[AsyncSession], user_id: int) -> str:
    async with sessions() as session, session.begin():
        return (await alerts.create_link_code(session, user_id)).code


async def linked_chat(sessions: async_sessionmaker[AsyncSession], user_id: int) -> int | None:
    async with sessions() as session:
        link = await alerts.get_link(session, user_id)
        return None if link is None else link.chat_id


async def test_linking_when_chat_sends_start_with_code_then_chat_linked_and_told(
    sessions: async_sessionmaker[AsyncSession], standin: TelegramStandIn, telegram: TelegramClient
) -> None:
    user = await make_user(sessions, 1)
    code = await new_code(sessions, user)
    standin.user_sends(CHAT, f"/start {code}")
    poller = TelegramLinkPoller(sessions, telegram)
    assert await poller.poll_once(timeout=0) == 1
    assert await linked_chat(sessions, user) == CHAT
    assert standin.sent_to(CHAT) == [LINKED]
    # the update is confirmed by the next offset and not handled twice
    assert await poller.poll_once(timeout=0) == 0
    assert standin.sent_to(CHAT) == [LINKED]
    # a restarted poller starts without an offset and sees the same /start again: silently fine
    standin.user_sends(CHAT, f"/start {code}")
    assert await TelegramLinkPoller(sessions, telegram).poll_once(timeout=0) == 1
    assert standin.sent_to(CHAT) == [LINKED]
    assert await linked_chat(sessions, user) == CHAT


async def test_linking_when_code_reused_or_wrong_then_refused_and_first_link_kept(
    sessions: async_sessionmaker[AsyncSession], standin: TelegramStandIn, telegram: TelegramClient
) -> None:
    user = await make_user(sessions, 1)
    code = await new_code(sessions, user)
    standin.user_sends(CHAT, f"/start {code}")
    standin.user_sends(666, f"/start {code}")
    standin.user_sends(667, "/start notacodeatall123")
    await TelegramLinkPoller(sessions, telegram).poll_once(timeout=0)
    assert await linked_chat(sessions, user) == CHAT
    assert standin.sent_to(666) == [BAD_CODE]
    assert standin.sent_to(667) == [BAD_CODE]


async def test_linking_when_code_expired_or_replaced_then_refused(
    sessions: async_sessionmaker[AsyncSession], standin: TelegramStandIn, telegram: TelegramClient
) -> None:
    user = await make_user(sessions, 1)
    clock = ManualClock(dt.datetime.now(dt.UTC))
    async with sessions() as session, session.begin():
        old = (await alerts.create_link_code(session, user, clock=clock)).code
        expiring = (await alerts.create_link_code(session, user, clock=clock)).code
    clock.advance(alerts.LINK_CODE_TTL + dt.timedelta(seconds=1))
    standin.user_sends(CHAT, f"/start {old}")
    standin.user_sends(CHAT + 1, f"/start {expiring}")
    await TelegramLinkPoller(sessions, telegram, clock=clock).poll_once(timeout=0)
    assert await linked_chat(sessions, user) is None
    assert standin.sent_to(CHAT) == [BAD_CODE] and standin.sent_to(CHAT + 1) == [BAD_CODE]


async def test_linking_when_chat_sends_stop_then_unlinked(
    sessions: async_sessionmaker[AsyncSession], standin: TelegramStandIn, telegram: TelegramClient
) -> None:
    user = await make_user(sessions, 1)
    standin.user_sends(CHAT, f"/start {await new_code(sessions, user)}")
    standin.user_sends(CHAT, "/stop")
    await TelegramLinkPoller(sessions, telegram).poll_once(timeout=0)
    assert await linked_chat(sessions, user) is None
    assert standin.sent_to(CHAT) == [LINKED, UNLINKED]
