"""Gate check G10 on any SQL database (SQLite included): a row in `entry_locks` per user+symbol.

The primary key makes the insert the lock; a holder that died is taken over once its lease expires.
Every unit of work of a cycle takes and releases its locks here, so the statements are prebuilt Core
statements with bound parameters (no ORM objects or per-call statement building).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import cast

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence.tables.trading import EntryLockRow
from qari.core.time import Clock

DEFAULT_LEASE = dt.timedelta(minutes=2)

_LOCKS = cast(Table, EntryLockRow.__table__)
_MINE = (_LOCKS.c.user_id == bindparam("user_id"), _LOCKS.c.symbol.in_(bindparam("symbols", expanding=True)))
_DELETE_EXPIRED = delete(_LOCKS).where(*_MINE, _LOCKS.c.expires_at < bindparam("now"))
_TAKEN = select(_LOCKS.c.symbol).where(*_MINE)
_INSERT = insert(_LOCKS)
_RELEASE = delete(_LOCKS).where(_LOCKS.c.holder == bindparam("holder"))


class RowEntryLock:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, lease: dt.timedelta = DEFAULT_LEASE
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._lease = lease

    async def _try_insert(self, user_id: int, symbol: str, holder: str) -> bool:
        now = self._clock.now()
        try:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    delete(EntryLockRow).where(
                        EntryLockRow.user_id == user_id,
                        EntryLockRow.symbol == symbol,
                        EntryLockRow.expires_at < now,
                    )
                )
                session.add(
                    EntryLockRow(user_id=user_id, symbol=symbol, holder=holder, expires_at=now + self._lease)
                )
        except IntegrityError:
            return False
        return True

    @asynccontextmanager
    async def hold(self, user_id: int, symbol: str) -> AsyncIterator[bool]:
        async with self.hold_many(user_id, [symbol]) as held:
            yield symbol in held

    async def _try_insert_many(self, user_id: int, symbols: list[str], holder: str) -> frozenset[str]:
        now = self._clock.now()
        try:
            async with self._sessions() as session, session.begin():
                mine = {"user_id": user_id, "symbols": symbols}
                await session.execute(_DELETE_EXPIRED, {**mine, "now": now})
                taken = set((await session.scalars(_TAKEN, mine)).all())
                free = [s for s in symbols if s not in taken]
                if free:
                    expires_at = now + self._lease
                    rows = [
                        {"user_id": user_id, "symbol": s, "holder": holder, "expires_at": expires_at}
                        for s in free
                    ]
                    await session.execute(_INSERT, rows)
        except IntegrityError:  # another holder got in between: settle it symbol by symbol
            return frozenset([s for s in symbols if await self._try_insert(user_id, s, holder)])
        return frozenset(free)

    @asynccontextmanager
    async def hold_many(self, user_id: int, symbols: Iterable[str]) -> AsyncIterator[frozenset[str]]:
        """`hold` for several symbols at once (one transaction each way); yields the symbols held."""
        holder = uuid.uuid4().hex
        wanted = sorted(set(symbols))
        acquired = await self._try_insert_many(user_id, wanted, holder) if wanted else frozenset()
        try:
            yield acquired
        finally:
            if acquired:
                async with self._sessions() as session, session.begin():
                    await session.execute(_RELEASE, {"holder": holder})
