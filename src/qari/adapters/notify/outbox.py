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
from qari.core.time import Clock, as_utc

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
                handled = await self.run_once(stop)
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

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """One pass over due rows; returns how many were handled (sent, skipped, failed or deferred).

        Recording one row's outcome and claiming the next share a transaction (one commit per alert).
        """
        now = self._clock.now()
        if self._purged_at is None or now - self._purged_at >= self.policy.purge_every:
            await self.purge(now - self.policy.retention)
            self._purged_at = now
        if self.paused_until is not None and now < self.paused_until:
            return 0
        self.paused_until = None
        async with self._sessions() as session:
            query = select(AlertOutbox.id).where(self._due(now)).order_by(AlertOutbox.id)
            queue = list(await session.scalars(query.limit(self.policy.batch)))
        handled = 0
        outcome: _Outcome | None = None
        while queue or outcome is not None:
            if stop is not None and stop.is_set():
                queue = []  # finish recording the in-flight alert, claim nothing new
            job = await self._record_and_claim(outcome, queue.pop(0) if queue else None)
            outcome = None
            if job is None:
                continue
            handled += 1
            outcome = await self._deliver(job)
            if outcome.rate_limited:
                queue = []  # the whole bot waits
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

    async def _record_and_claim(self, outcome: _Outcome | None, row_id: int | None) -> _Job | None:
        """Store the previous row's outcome, then claim `row_id` (pending -> sending with a lease)."""
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            if outcome is not None:
                await session.execute(
                    update(AlertOutbox)
                    .where(AlertOutbox.id == outcome.row_id, AlertOutbox.claimed_by == self.worker_id)
                    .values(**outcome.values)
                )
            if row_id is None:
                return None
            claimed = await session.execute(
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
            if getattr(claimed, "rowcount", 0) != 1:
                return None
            row = await session.get(AlertOutbox, row_id, populate_existing=True)
            if row is None:
                return None
            link = await session.get(TelegramLink, row.user_id)
            pref = await session.get(AlertPreference, (row.user_id, row.kind))
            return _Job(
                row_id=row_id,
                kind=row.kind,
                data=dict(row.data),
                attempts=row.attempts,
                in_doubt=row.in_doubt,
                created_at=as_utc(row.created_at),
                chat_id=link.chat_id if link is not None else None,
                enabled=pref is None or pref.enabled,
            )

    async def _deliver(self, job: _Job) -> _Outcome:
        now = self._clock.now()
        if now - job.created_at > self.policy.max_age:
            return self._finished(job, OUTBOX_SKIPPED, error="expired before it could be delivered")
        if not job.enabled:
            return self._finished(job, OUTBOX_SKIPPED, error="turned off in preferences")
        if job.chat_id is None:
            return self._finished(job, OUTBOX_SKIPPED, error="telegram not linked")
        text = render(job.kind, job.data, repeat=job.in_doubt)
        try:
            message_id = await self._client.send_message(job.chat_id, text)
        except TelegramError as e:
            return self._failed(job, e)
        return self._finished(job, OUTBOX_SENT, message_id=message_id)

    def _failed(self, job: _Job, error: TelegramError) -> _Outcome:
        now = self._clock.now()
        if error.kind == "rate_limited":
            wait = dt.timedelta(seconds=error.retry_after or 1.0)
            self.paused_until = now + wait
            return self._retry(job, now + wait, str(error), in_doubt=False, rate_limited=True)
        if error.kind in ("forbidden", "rejected") or job.attempts >= self.policy.max_attempts:
            log.warning("alert %s not deliverable: %s", job.row_id, error)
            return self._finished(job, OUTBOX_FAILED, error=str(error))
        delay = min(self.policy.backoff_base * 2 ** max(job.attempts - 1, 0), self.policy.backoff_max)
        when = now + dt.timedelta(seconds=delay)
        return self._retry(job, when, str(error), in_doubt=error.kind == "in_doubt")

    @staticmethod
    def _retry(
        job: _Job, when: dt.datetime, error: str, *, in_doubt: bool, rate_limited: bool = False
    ) -> _Outcome:
        values: dict[str, object] = {
            "status": OUTBOX_PENDING,
            "next_attempt_at": when,
            "lease_until": None,
            "last_error": error[:300],
        }
        if in_doubt:  # once in doubt, always in doubt: an earlier attempt may have arrived
            values["in_doubt"] = True
        return _Outcome(job.row_id, values, rate_limited=rate_limited)

    def _finished(
        self, job: _Job, status: str, *, error: str | None = None, message_id: int | None = None
    ) -> _Outcome:
        values: dict[str, object] = {
            "status": status,
            "lease_until": None,
            "sent_at": self._clock.now() if status == OUTBOX_SENT else None,
            "telegram_message_id": message_id,
            "last_error": error[:300] if error else None,
        }
        return _Outcome(job.row_id, values)


@dataclass(frozen=True)
class _Job:
    row_id: int
    kind: str
    data: dict[str, str]
    attempts: int
    in_doubt: bool
    created_at: dt.datetime
    chat_id: int | None
    enabled: bool


@dataclass(frozen=True)
class _Outcome:
    row_id: int
    values: dict[str, object]
    rate_limited: bool = False
