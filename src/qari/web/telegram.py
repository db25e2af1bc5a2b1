"""Telegram as a delivery mechanism beside the HTTP routes: inbound commands and the runtime next to the web.

Inbound: the getUpdates long-poll loop links the chat that sends `/start <code>` and unlinks on `/stop`,
calling `qari.services.alerts` exactly as the web routes do. Offsets confirm updates to Telegram only on the
next call, so after a restart some updates come again; that is harmless because a link code works once.

Runtime: `telegram_alerts` starts and stops the outbox worker (`qari.adapters.notify.outbox`, outbound
alerts) and the link poller next to the web process. Every web process runs an outbox worker (claims
are leased rows); the link poller runs in one process of the deployment at a time, the holder of a
leader lock (`adapters/locks/leader.py`), since Telegram refuses a second `getUpdates` reader.
Without `QARI_TELEGRAM_BOT_TOKEN` nothing starts and alerts stay queued (then expire), and the API
reports Telegram as off.

The Bot API client and the outbox worker are adapters (`qari.adapters.notify`); this module is the
delivery side that calls services, so no adapter imports `qari.services`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.locks.leader import leader_lock, run_as_leader
from qari.adapters.notify.outbox import OutboxPolicy, OutboxWorker
from qari.adapters.notify.telegram import TelegramClient, TelegramError
from qari.config import Settings
from qari.core.clocks import WallClock
from qari.core.time import Clock
from qari.services import alerts

log = logging.getLogger(__name__)

_START = re.compile(r"^/start(?:@\w+)?\s+([A-Za-z0-9_-]{8,64})\s*$")
_STOP = re.compile(r"^/stop(?:@\w+)?\s*$")

LINKED = "Linked. QARI alerts for your account will arrive in this chat. Send /stop to unlink."
BAD_CODE = "That link code is unknown, used or expired. Create a new one in QARI: Settings → Notifications."
HELLO = "To link QARI alerts, open Settings → Notifications in QARI and use the Telegram link there."
UNLINKED = "Unlinked. QARI alerts will no longer arrive in this chat."


class TelegramLinkPoller:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: TelegramClient,
        *,
        poll_timeout: int = 25,
        clock: Clock | None = None,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._poll_timeout = poll_timeout
        self._clock = clock or WallClock()
        self.offset: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await self.poll_once()
                failures = 0
            except Exception as e:  # keep linking alive through Telegram or database trouble
                failures += 1
                retry_after = e.retry_after if isinstance(e, TelegramError) else None
                delay = retry_after or min(2.0**failures, 60.0)
                reason = e.kind if isinstance(e, TelegramError) else type(e).__name__
                log.warning("telegram getUpdates failed (%s); retrying in %.0fs", reason, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)

    async def poll_once(self, timeout: int | None = None) -> int:
        updates = await self._client.get_updates(
            self.offset, timeout=self._poll_timeout if timeout is None else timeout
        )
        for update in updates:
            update_id = update.get("update_id")
            if isinstance(update_id, int):
                self.offset = max(self.offset or 0, update_id + 1)
            try:
                await self.handle(update)
            except Exception as e:  # one odd update must not stop linking for everyone
                log.warning("telegram update %s not handled: %s", update_id, type(e).__name__)
        return len(updates)

    async def handle(self, update: dict[str, Any]) -> None:
        message = update.get("message")
        if not isinstance(message, dict):
            return
        chat = message.get("chat")
        text = message.get("text")
        if not isinstance(chat, dict) or not isinstance(chat.get("id"), int) or not isinstance(text, str):
            return
        chat_id: int = chat["id"]
        reply = None
        if match := _START.match(text.strip()):
            async with self._sessions() as session, session.begin():
                outcome = await alerts.link_chat(session, match.group(1), chat_id, clock=self._clock)
            reply = {"linked": LINKED, "invalid": BAD_CODE}.get(outcome)
        elif _STOP.match(text.strip()):
            async with self._sessions() as session, session.begin():
                await alerts.unlink_chat(session, chat_id)
            reply = UNLINKED
        elif text.strip().startswith("/start"):
            reply = HELLO
        if reply is not None:
            try:
                await self._client.send_message(chat_id, reply)
            except TelegramError as e:  # the link itself is stored; the confirmation is a courtesy
                log.info("telegram link reply not sent: %s", e.kind)


# --- The runtime next to the web process -----------------------------------------------------------
POLLER_LOCK = "telegram-link-poller"  # the leader lock's name (adapters/locks/leader.py)
# How long a graceful stop waits for an in-flight sendMessage to answer and be recorded.
STOP_GRACE_SECONDS = 15.0


@dataclass
class TelegramRuntime:
    client: TelegramClient
    worker: OutboxWorker
    poller: TelegramLinkPoller
    username: str | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def bot_username(self) -> str | None:
        """The bot's @username from getMe, fetched once (start-up may have run while Telegram was away)."""
        if self.username is None:
            try:
                self.username = (await self.client.get_me()).username or None
            except TelegramError as e:
                log.warning("telegram getMe failed: %s", e.kind)
        return self.username


async def _fetch_username(runtime: TelegramRuntime) -> None:
    await runtime.bot_username()


@asynccontextmanager
async def telegram_alerts(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    policy: OutboxPolicy | None = None,
    poll_timeout: int = 25,
    leader_retry: float = 10.0,
) -> AsyncIterator[TelegramRuntime | None]:
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        yield None
        return
    client = TelegramClient(settings.telegram_bot_token, settings.telegram_api_base)
    runtime = TelegramRuntime(
        client=client,
        worker=OutboxWorker(sessions, client, policy=policy),
        poller=TelegramLinkPoller(sessions, client, poll_timeout=poll_timeout),
    )
    runtime.tasks = [
        asyncio.create_task(runtime.worker.run(runtime.stop), name="alerts-outbox"),
        # Telegram answers one getUpdates reader per bot: one process of the deployment polls.
        asyncio.create_task(
            run_as_leader(
                leader_lock(settings.resolved_database_url, POLLER_LOCK),
                runtime.poller.run,
                runtime.stop,
                name="telegram link poller",
                retry=leader_retry,
            ),
            name="telegram-link-poller",
        ),
        # getMe in the background: an unreachable Telegram must not hold up start-up
        asyncio.create_task(_fetch_username(runtime), name="telegram-get-me"),
    ]
    try:
        yield runtime
    finally:
        runtime.stop.set()
        worker_task, *readers = runtime.tasks
        for task in readers:
            task.cancel()  # a long poll only reads; its updates come again next start
        try:
            await asyncio.wait_for(worker_task, STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning("alert outbox worker did not stop in time; an in-flight alert may be resent")
        for task in readers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await client.close()
