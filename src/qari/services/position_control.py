"""The user's own controls over an open position. The API only records the request; the engine's
management pass carries it out through the order manager like any other exit
(`engine/protection.py`, `close_now`), so a "close now" never sends an order outside the journal."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.persistence.tables.trading import PositionEventRow, PositionRow
from qari.services import accounts
from qari.services.errors import ServiceError
from qari.trading.position import FILLED_STATES


async def request_close(
    session: AsyncSession, user_id: int, position_id: int, now: dt.datetime
) -> PositionRow:
    """Mark the caller's filled position to be closed at market on the engine's next pass."""
    row = (
        await session.scalars(
            select(PositionRow).where(PositionRow.id == position_id, PositionRow.user_id == user_id)
        )
    ).first()
    if row is None:
        raise ServiceError(404, "no such position")
    if row.state not in {s.value for s in FILLED_STATES}:
        if row.state == "pending":
            raise ServiceError(409, "the entry order has not filled yet: nothing to sell")
        raise ServiceError(409, "this position is already closed")
    if row.close_requested_at is None:
        row.close_requested_at = now
        session.add(
            PositionEventRow(
                position_id=row.id, kind="close_requested", message="close at market requested", at=now
            )
        )
        await accounts.audit(session, now=now, actor=user_id, action="position.close", position_id=row.id)
    await session.commit()
    return row
