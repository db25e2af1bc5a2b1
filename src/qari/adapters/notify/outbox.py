"""The outbox worker: delivers `alert_outbox` rows to Telegram with retry, back-off and leases.

Each delivery is three short transactions: claim (pending -> sending, with a lease), the sendMessage call,
then mark (sent / retry later / skipped / failed). Guarantees:

- Not lost: a row stays in the database until the API answered. A worker that dies after claiming leaves
  a `sending` row whose lease runs out; any worker then reclaims and sends it.
- Not duplicated by retries: 429 and 5xx answers and connection failures mean Telegram did not take the
  message, so the resend is safe. A graceful stop finishes the in-flight send and records it.
- Residual (honest): the Bot API has no idempotency key. If the process dies after Telegram accepted a
  message but before "sent" is committed (a window of milliseconds), or the answer is lost in transit, the
  row is *in doubt*. We choose at-least-once for it: it is resent once more, marked "you may have received
  this already", because a lost stop-loss or kill-switch alert costs more than a repeated one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.notify.messages import render
from qari.adapters.notify.telegram import TelegramClient, TelegramError
from qari.adapters.persistence.tables.alerts import (
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    OUTBOX_SKIPPED,
    AlertOutbox,
    AlertPreference,
    TelegramLink,
)
from qari.core.clocks import WallClock
from qari.core.time import Clock
from qari.services.alerts import as_utc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxPolicy:
    lease: dt.timedelta = dt.timedelta(seconds=60)
    backoff_base: float = 2.0
    backoff_max: float = 300.0
    max_attempts: int = 25
    max_age: dt.timedelta = dt.timedelta(hours=24)
    batch: int = 20
    idle_poll: float = 1.0
    # Finished rows (sent, skipped, failed) are kept this long for support questions, then deleted.
    retention: dt.timedelta = dt.timedelta(days=30)
    purge_every: dt.timedelta = dt.timedelta(hours=1)


class OutboxWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: TelegramClient,
        *,
        policy: OutboxPolicy | None = None,
        clock: Clock | None = None,
        worker_id: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self.policy = policy or OutboxPolicy()
        self._clock = clock or WallClock()
        self.worker_id = worker_id or uuid.uuid4().hex[:16]
        self.paused_until: dt.datetime | None = None
        self._wake = asyncio.Event()
        self._purged_at: dt.datetime | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; an in-flight send always completes and is recorded."""
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception as e:  # database hiccup: keep the worker alive, try again shortly
                log.warning("alert outbox pass failed: %s", type(e).__name__)
                handled = 0
            if handled:
                continue
            delay = self.policy.idle_poll
            if self.paused_until is not None:
                delay = max(delay, (self.paused_until - self._clock.now()).total_seconds())
            self._wake.clear()
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(waits, timeout=max(delay, 0.01), return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()

    async def run_once(self) -> int:
        """One pass over due rows; returns how many were handled (sent, skipped, failed or deferred)."""
        now = self._clock.now()
        if self._purged_at is None or now - self._purged_at >= self.policy.purge_every:
            await self.purge(now - self.policy.retention)
            self._purged_at = now
        if self.paused_until is not None and now < self.paused_until:
            return 0
        self.paused_until = None
        async with self._sessions() as session:
            ids = list(
                await session.scalars(
                    select(AlertOutbox.id)
                    .where(self._due(now))
                    .order_by(AlertOutbox.id)
                    .limit(self.policy.batch)
                )
            )
        handled = 0
        for row_id in ids:
            if not await self._claim(row_id):
                continue
            handled += 1
            if not await self._deliver(row_id):
                break  # rate limited: the whole bot waits
        return handled

    async def purge(self, before: dt.datetime) -> int:
        """Delete finished rows created before `before`; pending and sending rows are never touched."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(AlertOutbox).where(
                    AlertOutbox.status.in_((OUTBOX_SENT, OUTBOX_SKIPPED, OUTBOX_FAILED)),
                    AlertOutbox.created_at < before,
                )
            )
            return int(getattr(result, "rowcount", 0))

    @staticmethod
    def _due(now: dt.datetime) -> ColumnElement[bool]:
        return or_(
            and_(AlertOutbox.status == OUTBOX_PENDING, AlertOutbox.next_attempt_at <= now),
            and_(AlertOutbox.status == OUTBOX_SENDING, AlertOutbox.lease_until < now),
        )

    async def _claim(self, row_id: int) -> bool:
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(AlertOutbox)
                .where(AlertOutbox.id == row_id, self._due(now))
                .values(
                    status=OUTBOX_SENDING,
                    # still `sending` means its worker died mid-send: Telegram may already have it
                    in_doubt=case((AlertOutbox.status == OUTBOX_SENDING, True), else_=AlertOutbox.in_doubt),
                    lease_until=now + self.policy.lease,
                    claimed_by=self.worker_id,
                    attempts=AlertOutbox.attempts + 1,
                )
            )
            return getattr(result, "rowcount", 0) == 1

    async def _deliver(self, row_id: int) -> bool:
        """Send one claimed row; False when Telegram asked the bot to slow down."""
        now = self._clock.now()
        async with self._sessions() as session:
            row = await session.get(AlertOutbox, row_id)
            if row is None:
                return True
            link = await session.get(TelegramLink, row.user_id)
            pref = await session.get(AlertPreference, (row.user_id, row.kind))
            kind, data, attempts, in_doubt = row.kind, dict(row.data), row.attempts, row.in_doubt
            created = as_utc(row.created_at)
        if now - created > self.policy.max_age:
            await self._finish(row_id, OUTBOX_SKIPPED, error="expired before it could be delivered")
            return True
        if pref is not None and not pref.enabled:
            await self._finish(row_id, OUTBOX_SKIPPED, error="turned off in preferences")
            return True
        if link is None:
            await self._finish(row_id, OUTBOX_SKIPPED, error="telegram not linked")
            return True
        text = render(kind, data, repeat=in_doubt)
        try:
            message_id = await self._client.send_message(link.chat_id, text)
        except TelegramError as e:
            return await self._failed(row_id, attempts, e)
        await self._finish(row_id, OUTBOX_SENT, message_id=message_id)
        return True

    async def _failed(self, row_id: int, attempts: int, error: TelegramError) -> bool:
        now = self._clock.now()
        if error.kind == "rate_limited":
            wait = dt.timedelta(seconds=error.retry_after or 1.0)
            self.paused_until = now + wait
            await self._retry_at(row_id, now + wait, str(error), in_doubt=False)
            return False
        if error.kind in ("forbidden", "rejected") or attempts >= self.policy.max_attempts:
            log.warning("alert %s not deliverable: %s", row_id, error)
            await self._finish(row_id, OUTBOX_FAILED, error=str(error))
            return True
        delay = min(self.policy.backoff_base * 2 ** max(attempts - 1, 0), self.policy.backoff_max)
        await self._retry_at(
            row_id, now + dt.timedelta(seconds=delay), str(error), in_doubt=error.kind == "in_doubt"
        )
        return True

    async def _retry_at(self, row_id: int, when: dt.datetime, error: str, *, in_doubt: bool) -> None:
        values: dict[str, object] = {
            "status": OUTBOX_PENDING,
            "next_attempt_at": when,
            "lease_until": None,
            "last_error": error[:300],
        }
        if in_doubt:  # once in doubt, always in doubt: an earlier attempt may have arrived
            values["in_doubt"] = True
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(AlertOutbox)
                .where(AlertOutbox.id == row_id, AlertOutbox.claimed_by == self.worker_id)
                .values(**values)
            )

    async def _finish(
        self, row_id: int, status: str, *, error: str | None = None, message_id: int | None = None
    ) -> None:
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(AlertOutbox)
                .where(AlertOutbox.id == row_id, AlertOutbox.claimed_by == self.worker_id)
                .values(
                    status=status,
                    lease_until=None,
                    sent_at=now if status == OUTBOX_SENT else None,
                    telegram_message_id=message_id,
                    last_error=error[:300] if error else None,
                )
            )
