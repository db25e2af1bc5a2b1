"""A per-process cache of read-only views of one user's data (GET /positions), dropped by that user's
live events: on for PostgreSQL only, where the web process hears every process's commits.

Every write to the rows such a view shows notes a live event for its user (`persistence/live.py`:
ORM writes of positions, orders, fills and the R ledger by themselves, the engine's Core writes by
hand), and PostgreSQL delivers it to every web process after the commit (NOTIFY). So a cached view
is dropped when any event of its user arrives (any type: more drops than needed, never too few),
every view when an event names no user or the listener says events may have been missed
(reconnected). A read that started before an event of its user and ends after it is not stored (the
`mark` it took is older than the event), so no stale view can come back.

On SQLite the hub hears only this process's commits (the engine's workers write from elsewhere), so
the cache stays off there. `TTL_SECONDS` bounds an entry's life in any case.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from typing import Any

from cachetools import TTLCache

from qari.ports import LiveEvent
from qari.web.single_flight import KeyedLocks

TTL_SECONDS = 5.0
MAX_ENTRIES = 10_000


class UserReadCache:
    def __init__(self, *, enabled: bool, ttl: float = TTL_SECONDS, maxsize: int = MAX_ENTRIES) -> None:
        self.enabled = enabled
        self._entries: TTLCache[tuple[int, str], Any] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._lock = threading.Lock()
        self._clock = itertools.count(1)
        self._now = 0  # the last tick handed out
        self._changed: dict[int, int] = {}  # user id -> tick of that user's last event
        self._cleared = 0  # tick of the last drop of everything
        self._views: set[str] = set()
        self._reads = KeyedLocks()

    def _tick(self) -> int:
        self._now = next(self._clock)
        return self._now

    def mark(self) -> int:
        """Take before reading from the database; hand to `put`."""
        with self._lock:
            return self._tick()

    def loading(self, user_id: int, view: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Held around a miss's read: concurrent misses of one view wait for the first's entry
        (web/single_flight.py); with the cache off there is no entry to wait for."""
        return self._reads.hold((user_id, view)) if self.enabled else contextlib.nullcontext()

    def get(self, user_id: int, view: str) -> Any | None:
        if not self.enabled:
            return None
        with self._lock:
            return self._entries.get((user_id, view))

    def put(self, user_id: int, view: str, value: Any, mark: int) -> None:
        """Keep `value` (never mutated afterwards) unless an event of the user came after `mark`."""
        if not self.enabled:
            return
        with self._lock:
            if self._changed.get(user_id, 0) < mark and self._cleared < mark:
                self._views.add(view)
                self._entries[(user_id, view)] = value

    def observe(self, event: LiveEvent | None) -> None:
        """A live event of this process's hub (`LiveEventHub.observe`); None: events may be missed."""
        with self._lock:
            tick = self._tick()
            if event is None or event.user_id is None or len(self._changed) >= self._entries.maxsize:
                self._entries.clear()
                self._changed.clear()
                self._cleared = tick
                return
            self._changed[event.user_id] = tick
            for view in self._views:
                self._entries.pop((event.user_id, view), None)
