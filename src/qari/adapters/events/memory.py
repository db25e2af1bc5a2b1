"""`LiveEventHub`: the in-process live-event bus (`qari serve`, and the fan-out inside a `qari web`).

Each subscriber owns a small pending set keyed by what an event says (`LiveEvent.key`), not a queue:
a change repeated before the subscriber reads it is kept once, so a slow or stalled client coalesces
instead of growing memory. When a subscriber falls more than `limit` distinct events behind, its
pending set is replaced by one `resync` event (the client refetches everything it shows). Memory per
subscriber is therefore at most `limit` events whatever the publish rate.

`publish` is synchronous and never blocks: it is called from SQLAlchemy's `after_commit` hook and
from the PostgreSQL listener's callback, both on the event loop's thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from qari.ports import LiveEvent

RESYNC = "resync"  # the subscriber missed events: refetch everything
DEFAULT_LIMIT = 32


class HubSubscription:
    """One subscriber's pending events (see the module doc)."""

    def __init__(self, user_id: int, limit: int) -> None:
        self.user_id = user_id
        self._limit = limit
        self._pending: dict[tuple[object, ...], LiveEvent] = {}
        self._ready = asyncio.Event()
        self.coalesced = 0  # events merged into one already pending or dropped for a resync

    def offer(self, event: LiveEvent) -> None:
        key = event.key()
        if key in self._pending or RESYNC in (e.type for e in self._pending.values()):
            self.coalesced += 1
        elif len(self._pending) >= self._limit:
            self.coalesced += len(self._pending)
            resync = LiveEvent(self.user_id, RESYNC)
            self._pending = {resync.key(): resync}
        else:
            self._pending[key] = event
        self._ready.set()

    def pending(self) -> int:
        return len(self._pending)

    async def get(self) -> LiveEvent:
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        key = next(iter(self._pending))
        return self._pending.pop(key)


class LiveEventHub:
    """`LiveEventSink` and `LiveEventFeed` in one process."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._limit = limit
        self._subscribers: dict[int, set[HubSubscription]] = {}
        self._observers: list[Callable[[LiveEvent | None], None]] = []

    def observe(self, observer: Callable[[LiveEvent | None], None]) -> None:
        """Call `observer` with every event as it is published, and with None when events may have
        been missed (`resync_all`): for in-process caches that a change invalidates. It must not block."""
        self._observers.append(observer)

    def publish(self, event: LiveEvent) -> None:
        for observer in self._observers:
            observer(event)
        if event.user_id is None:
            targets = [s for group in self._subscribers.values() for s in group]
        else:
            targets = list(self._subscribers.get(event.user_id, ()))
        for subscription in targets:
            subscription.offer(event)

    def resync_all(self) -> None:
        """Every subscriber may have missed events (the cross-process listener reconnected)."""
        for observer in self._observers:
            observer(None)
        for group in list(self._subscribers.values()):
            for subscription in group:
                subscription.offer(LiveEvent(subscription.user_id, RESYNC))

    def subscribers(self) -> int:
        return sum(len(group) for group in self._subscribers.values())

    @asynccontextmanager
    async def subscribe(self, user_id: int) -> AsyncIterator[HubSubscription]:
        subscription = HubSubscription(user_id, self._limit)
        self._subscribers.setdefault(user_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            group = self._subscribers.get(user_id)
            if group is not None:
                group.discard(subscription)
                if not group:
                    del self._subscribers[user_id]
