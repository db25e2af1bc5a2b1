"""Gate check G10 on PostgreSQL: a session-level advisory lock per user+symbol.

The lock lives on one dedicated connection for the duration of the entry attempt, so it holds across
processes and machines sharing the database, and PostgreSQL frees it if the holder dies.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


def lock_key(user_id: int, symbol: str) -> int:
    digest = hashlib.sha256(f"qari-entry:{user_id}:{symbol}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PgAdvisoryEntryLock:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def hold(self, user_id: int, symbol: str) -> AsyncIterator[bool]:
        async with self.hold_many(user_id, [symbol]) as held:
            yield symbol in held

    @asynccontextmanager
    async def hold_many(self, user_id: int, symbols: Iterable[str]) -> AsyncIterator[frozenset[str]]:
        """`hold` for several symbols on one connection, taken and released in one statement each
        (autocommit: nothing stays idle in a transaction while held); yields the symbols held."""
        keys = {lock_key(user_id, symbol): symbol for symbol in sorted(set(symbols))}
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            rows = (await conn.execute(_TAKE, {"keys": list(keys)})).all() if keys else []
            acquired = [int(k) for k, took in rows if took]
            try:
                yield frozenset(keys[k] for k in acquired)
            finally:
                if acquired:
                    await conn.execute(_RELEASE, {"keys": acquired})


_TAKE = text("SELECT k, pg_try_advisory_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS t(k)")
_RELEASE = text("SELECT pg_advisory_unlock(k) FROM unnest(CAST(:keys AS bigint[])) AS t(k)")
