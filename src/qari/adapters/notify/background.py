"""Starts and stops Telegram delivery next to the web process: the outbox worker and the link poller.

Without `QARI_TELEGRAM_BOT_TOKEN` nothing starts and alerts stay queued (then expire), and the API reports
Telegram as off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.notify.linking import TelegramLinkPoller
from qari.adapters.notify.outbox import OutboxPolicy, OutboxWorker
from qari.adapters.notify.telegram import TelegramClient, TelegramError
from qari.config import Settings

log = logging.getLogger(__name__)
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
        asyncio.create_task(runtime.poller.run(runtime.stop), name="telegram-link-poller"),
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
