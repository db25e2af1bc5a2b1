"""API routes: operator-only administration (users, plans, waivers, platform switches, audit log)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.exchanges.capabilities import VENUES
from qari.adapters.persistence.tables.accounts import AuditEntry, User
from qari.adapters.persistence.tables.exchange import ExchangeConnection
from qari.services import accounts, plans
from qari.services.audit_log import readable
from qari.web.deps import MAX_ROW_ID, ClockDep, OperatorUser, RowId, SessionDep
from qari.web.schemas.accounts import (
    AdminUserPublic,
    AuditPublic,
    Blacklist,
    PlanChange,
    PlatformChange,
    PlatformPublic,
    UserConnectionPublic,
    UserPublic,
)

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/users", response_model=list[AdminUserPublic])
async def list_users(operator: OperatorUser, session: SessionDep, clock: ClockDep) -> list[AdminUserPublic]:
    """Every user with their plan and exchange-connection status."""
    now = clock.now()
    table = await plans.load_plans(session)
    users = (await session.execute(select(User).order_by(User.id))).scalars().all()
    rows = await session.execute(
        select(
            ExchangeConnection.user_id,
            ExchangeConnection.exchange,
            ExchangeConnection.status,
            ExchangeConnection.verified_at,
        ).order_by(ExchangeConnection.user_id, ExchangeConnection.exchange)
    )
    connections: dict[int, list[UserConnectionPublic]] = defaultdict(list)
    for user_id, exchange, status, verified_at in rows.all():
        venue = VENUES.get(exchange)
        connections[user_id].append(
            UserConnectionPublic(
                exchange=exchange,
                exchange_name=venue.name if venue else exchange,
                status=status,
                verified_at=verified_at,
            )
        )
    return [
        AdminUserPublic.with_connections(u, plans.plan_status(u, table[u.plan_tier], now), connections[u.id])
        for u in users
    ]


@router.put("/users/{user_id}/plan", response_model=UserPublic)
async def set_plan(
    user_id: RowId, body: PlanChange, operator: OperatorUser, session: SessionDep, clock: ClockDep
) -> UserPublic:
    now = clock.now()
    user = await accounts.set_plan(
        session, operator, user_id, tier=body.tier, active_until=body.active_until, now=now
    )
    await session.commit()
    return UserPublic.of(user, await plans.user_plan_status(session, user, now))


@router.put("/users/{user_id}/waiver", response_model=UserPublic)
async def grant_waiver(
    user_id: RowId, operator: OperatorUser, session: SessionDep, clock: ClockDep
) -> UserPublic:
    return await _set_waiver(session, operator, user_id, granted=True, now=clock.now())


@router.delete("/users/{user_id}/waiver", response_model=UserPublic)
async def revoke_waiver(
    user_id: RowId, operator: OperatorUser, session: SessionDep, clock: ClockDep
) -> UserPublic:
    return await _set_waiver(session, operator, user_id, granted=False, now=clock.now())


async def _set_waiver(
    session: AsyncSession, operator: User, user_id: int, *, granted: bool, now: dt.datetime
) -> UserPublic:
    user = await accounts.set_waiver(session, operator, user_id, granted=granted, now=now)
    await session.commit()
    return UserPublic.of(user, await plans.user_plan_status(session, user, now))


def _platform_public(state: object) -> PlatformPublic:
    return PlatformPublic.model_validate(state, from_attributes=True)


@router.get("/platform", response_model=PlatformPublic)
async def get_platform(operator: OperatorUser, session: SessionDep) -> PlatformPublic:
    return _platform_public(await accounts.platform_state(session))


@router.patch("/platform", response_model=PlatformPublic)
async def change_platform(
    body: PlatformChange, operator: OperatorUser, session: SessionDep, clock: ClockDep
) -> PlatformPublic:
    """Platform engine on/off and the platform-wide kill switch."""
    now = clock.now()
    state = await accounts.platform_state(session)
    changes = body.model_dump(exclude_none=True)
    for name, value in changes.items():
        setattr(state, name, value)
    state.updated_at = now
    await accounts.audit(session, now=now, actor=operator.id, action="platform.changed", **changes)
    await session.commit()
    return _platform_public(state)


@router.put("/platform/blacklist", response_model=PlatformPublic)
async def set_blacklist(
    body: Blacklist, operator: OperatorUser, session: SessionDep, clock: ClockDep
) -> PlatformPublic:
    """Replace the platform blacklist (symbols like "LUNA/USDT" or base assets like "LUNA")."""
    now = clock.now()
    state = await accounts.platform_state(session)
    state.blacklist = sorted({s.strip().upper() for s in body.symbols if s.strip()})
    state.updated_at = now
    await accounts.audit(
        session, now=now, actor=operator.id, action="platform.blacklist", symbols=state.blacklist
    )
    await session.commit()
    return _platform_public(state)


@router.get("/audit", response_model=list[AuditPublic])
async def audit_log(
    operator: OperatorUser,
    session: SessionDep,
    limit: int = Query(100, ge=1, le=1000),
    before_id: int | None = Query(None, ge=1, le=MAX_ROW_ID),
) -> list[AuditPublic]:
    """Newest first; page with `before_id`."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    rows = list((await session.execute(stmt)).scalars().all())
    return [AuditPublic.model_validate(entry) for entry in await readable(session, rows)]
