"""API routes: the logged-in user's own account and plan."""

from __future__ import annotations

from fastapi import APIRouter

from qari.services import plans
from qari.web.deps import ClockDep, CurrentAccount
from qari.web.schemas.accounts import UserPublic

router = APIRouter(tags=["me"])


@router.get("/me", response_model=UserPublic)
async def me(account: CurrentAccount, clock: ClockDep) -> UserPublic:
    """The account, its current plan and concurrent-position capacity."""
    return UserPublic.of(account, plans.plan_status(account, account.plan, clock.now()))
