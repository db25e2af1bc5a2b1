"""One database read per cache key at a time in this process.

When a cached entry expires (or an event drops it) while many requests of the same user are in
flight (a dashboard's burst, or a load test's 200 connections on one token), every one of them
misses at once; without this each would run the same statement and queue for the pool, and the
requests behind them wait for all of those reads. Here the first miss reads and the others wait for
its entry, then find it in the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable


class KeyedLocks:
    """An `asyncio.Lock` per key, kept only while somebody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
