"""API routes: the logged-in user's own account and plan."""

from __future__ import annotations

from fastapi import APIRouter

from qari.services import plans
from qari.web.deps import ClockDep, CurrentUser, SessionDep
from qari.web.schemas.accounts import UserPublic

router = APIRouter(tags=["me"])


@router.get("/me", response_model=UserPublic)
async def me(user: CurrentUser, session: SessionDep, clock: ClockDep) -> UserPublic:
    """The account, its current plan and concurrent-position capacity."""
    return UserPublic.of(user, await plans.user_plan_status(session, user, clock.now()))
