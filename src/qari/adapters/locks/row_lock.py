"""Gate check G10 on any SQL database (SQLite included): a row in `entry_locks` per user+symbol.

The primary key makes the insert the lock; a holder that died is taken over once its lease expires.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence.tables.trading import EntryLockRow
from qari.core.time import Clock

DEFAULT_LEASE = dt.timedelta(minutes=2)


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
                await session.execute(
                    delete(EntryLockRow).where(
                        EntryLockRow.user_id == user_id,
                        EntryLockRow.symbol.in_(symbols),
                        EntryLockRow.expires_at < now,
                    )
                )
                taken = set(
                    (
                        await session.scalars(
                            select(EntryLockRow.symbol).where(
                                EntryLockRow.user_id == user_id, EntryLockRow.symbol.in_(symbols)
                            )
                        )
                    ).all()
                )
                free = [s for s in symbols if s not in taken]
                session.add_all(
                    EntryLockRow(user_id=user_id, symbol=s, holder=holder, expires_at=now + self._lease)
                    for s in free
                )
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
                    await session.execute(delete(EntryLockRow).where(EntryLockRow.holder == holder))
