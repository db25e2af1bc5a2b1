"""A per-process cache of login-session lookups (token hash -> user id, CSRF token, expiry), so an
authenticated request reads its session row from the database at most once every `TTL_SECONDS`.

Kept with `cachetools.TTLCache` (bounded, time-to-live on the monotonic clock). What is cached is only
what the `sessions` row says; the user's row is still read on every request, so a plan change, the
operator flag or a deleted account take effect at once.

When a session ends:
- in this process (logout, password change, two-factor switched on: `discard` / `discard_user`), the
  entry goes at once; a lookup that started before the revocation and finishes after it is not stored
  (the revocation epoch moved), so no stale entry can come back;
- in another process (another uvicorn worker of `qari web`, another machine), this process keeps the
  entry for at most `TTL_SECONDS` more: a revoked token stays usable there for up to that long. That
  is the bound documented in docs/deploy.md; the session's own expiry time is checked on every request.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from cachetools import TTLCache

TTL_SECONDS = 5.0
MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class CachedSession:
    user_id: int
    csrf_token: str
    expires_at: dt.datetime


class SessionCache:
    def __init__(self, ttl: float = TTL_SECONDS, maxsize: int = MAX_ENTRIES) -> None:
        self._entries: TTLCache[str, CachedSession] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._lock = (
            threading.Lock()
        )  # TTLCache is not thread-safe; the dashboard's sync parts may run in threads
        self._epoch = 0  # moves on every revocation

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
