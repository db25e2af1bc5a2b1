"""`PgLiveEvents`: a web process's feed of the live events every process sends with NOTIFY.

One dedicated asyncpg connection LISTENs on `persistence.live.CHANNEL` and hands each notification to
an in-process `LiveEventHub`, which fans it out to this process's streams. When the connection drops,
it reconnects (1 s, then up to 30 s apart) and tells every subscriber to resync, since notifications
sent meanwhile are lost. Why PostgreSQL and not Redis: see `persistence/live.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import make_url

from qari.adapters.events.memory import HubSubscription, LiveEventHub
from qari.adapters.persistence.live import CHANNEL, decode
from qari.ports import LiveEvent

log = logging.getLogger(__name__)


def asyncpg_dsn(database_url: str) -> str:
    """`postgresql+asyncpg://…` (SQLAlchemy's spelling) as the DSN asyncpg itself takes."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgLiveEvents:
    """`LiveEventFeed` (and a local `LiveEventSink`) fed by PostgreSQL LISTEN."""

    def __init__(self, database_url: str, hub: LiveEventHub | None = None) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self.hub = hub or LiveEventHub()
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    def publish(self, event: LiveEvent) -> None:
        """To this process's subscribers only (other processes hear NOTIFY, not this)."""
        self.hub.publish(event)

    @asynccontextmanager
    async def subscribe(self, user_id: int) -> AsyncIterator[HubSubscription]:
        async with self.hub.subscribe(user_id) as subscription:
            yield subscription

    def _received(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        for item in decode(payload):
            self.hub.publish(item)

    async def start(self, timeout: float = 10.0) -> None:
        """Listen (in the background from now on); returns once the first LISTEN is in place."""
        self._task = asyncio.create_task(self._listen(), name="qari-live-listen")
        async with asyncio.timeout(timeout):
            await self._listening.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        delay = 1.0
        first = True
        while True:
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as e:  # the database is away: retry, never give up
                log.warning("live events: cannot listen (%s); retrying in %.0f s", type(e).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 1.0
            await self._listen_on(connection, resync=not first)
            first = False
            log.warning("live events: the listening connection was lost; reconnecting")

    async def _listen_on(self, connection: asyncpg.Connection, *, resync: bool) -> None:
        """Until `connection` is lost (returns) or the task is cancelled (raises)."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _c: lost.set())
        try:
            await connection.add_listener(CHANNEL, self._received)
            if resync:
                self.hub.resync_all()  # what was sent while we were away is lost
            self._listening.set()
            await lost.wait()
        finally:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await connection.close(timeout=2)
