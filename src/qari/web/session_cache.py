"""A per-process cache of login-session lookups, so an authenticated request reads its session row
(and, for the read-only routes of the user's own data, the user and plan rows) from the database at
most once every `TTL_SECONDS`.

Kept with `cachetools.TTLCache` (bounded, time-to-live on the monotonic clock). An entry is what one
statement read: the `sessions` row joined to its user and the user's plan (`CachedSession`).

- `get_current_user` (every route that may write, and the operator's) uses only the session part and
  still reads the user's row on every request: a plan change, the operator flag or a deleted account
  take effect there at once.
- `get_account` (GET /me, GET /positions: reads of the user's own data) uses the whole entry and runs
  no statement at all while it is cached.

When a session or an account changes:
- in this process (logout, password change, two-factor switched on: `discard` / `discard_user`), the
  entry goes at once;
- every committed change to a `sessions` or `users` row, in any process, is a live event
  (`persistence/live.py`: PostgreSQL NOTIFY, heard by every web process; on SQLite, this process's own
  commits): `observe` drops that user's entries when it arrives, and everything when the listener
  says events may have been missed (it reconnected);
- a lookup that started before such a drop and finishes after it is not stored (the epoch moved), so
  no stale entry can come back;
- without the event (another process on SQLite, or a change made with a statement that notes none),
  this process keeps the entry for at most `TTL_SECONDS` more: a revoked token stays usable here for
  up to that long. That is the bound docs/web-role.md states; the session's own expiry time is
  checked on every request.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from decimal import Decimal

from cachetools import TTLCache

from qari.ports import LiveEvent
from qari.web.single_flight import KeyedLocks

TTL_SECONDS = 5.0
MAX_ENTRIES = 10_000
INVALIDATING_EVENTS = frozenset({"session", "account"})  # sessions / users rows changed (live.py)


@dataclass(frozen=True, slots=True)
class CachedPlan:
    """The plan's terms (`plans` row) as of the lookup."""

    tier: str
    name: str
    capacity: int
    price_usd_month: Decimal
    features: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CachedAccount:
    """The user's row as the read-only routes show it, as of the lookup (never written through)."""

    id: int
    email: str
    is_operator: bool
    created_at: dt.datetime
    totp_enabled: bool
    trial_ends_at: dt.datetime
    plan_active_until: dt.datetime | None
    waiver: bool
    plan: CachedPlan


@dataclass(frozen=True, slots=True)
class CachedSession:
    user_id: int
    csrf_token: str
    expires_at: dt.datetime
    account: CachedAccount | None = None


class SessionCache:
    def __init__(self, ttl: float = TTL_SECONDS, maxsize: int = MAX_ENTRIES) -> None:
        self._entries: TTLCache[str, CachedSession] = TTLCache(maxsize=maxsize, ttl=ttl)
        # TTLCache is not thread-safe; the dashboard's sync parts may run in threads
        self._lock = threading.Lock()
        self._epoch = 0  # moves on every revocation
        self.lookups = KeyedLocks()  # one lookup per token hash at a time (web/single_flight.py)

    @property
    def epoch(self) -> int:
        """Read before a database lookup and hand to `put`: a revocation in between discards the put."""
        return self._epoch

    def get(self, token_hash: str) -> CachedSession | None:
        with self._lock:
            return self._entries.get(token_hash)

    def put(self, token_hash: str, entry: CachedSession, epoch: int) -> None:
        with self._lock:
            if epoch == self._epoch:
                self._entries[token_hash] = entry

    def discard(self, token_hash: str) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.pop(token_hash, None)

    def discard_user(self, user_id: int, *, keep: str | None = None) -> None:
        """Every cached session of `user_id` but `keep` (the token hash the user acted from)."""
        with self._lock:
            self._epoch += 1
            for key in [k for k, v in self._entries.items() if v.user_id == user_id and k != keep]:
                self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()

    def observe(self, event: LiveEvent | None) -> None:
        """A live event of this process's hub (`LiveEventHub.observe`); None: events may have been
        missed. A session or account change drops the user's entries (every entry for None)."""
        if event is None or (event.type in INVALIDATING_EVENTS and event.user_id is None):
            self.clear()
        elif event.type in INVALIDATING_EVENTS and event.user_id is not None:
            self.discard_user(event.user_id)
