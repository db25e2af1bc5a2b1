"""Plans are data (table `plans`): tier, name, capacity, price, features. This module decides which
plan a user is on right now and whether it allows new entries (gate check 02)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.persistence.alerts import emit_alert
from qari.adapters.persistence.tables.accounts import Plan, User

TRIAL_MONTHS = 3
TIERS = ("trial", "pro", "premium")


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Same day-of-month `months` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def trial_end(registered_at: dt.datetime) -> dt.datetime:
    return add_months(registered_at, TRIAL_MONTHS)


@dataclass(frozen=True)
class PlanStatus:
    tier: str
    name: str
    capacity: int
    price_usd_month: Decimal
    features: tuple[str, ...]
    trial_ends_at: dt.datetime
    active_until: dt.datetime | None
    waiver: bool
    active: bool
    reason: str


class PlanHolder(Protocol):
    """What `plan_status` reads of a user: the `users` row, or the web's cached copy of it."""

    @property
    def trial_ends_at(self) -> dt.datetime: ...
    @property
    def plan_active_until(self) -> dt.datetime | None: ...
    @property
    def waiver(self) -> bool: ...


class PlanTerms(Protocol):
    """What `plan_status` reads of a plan: the `plans` row, or the web's cached copy of it."""

    @property
    def tier(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def capacity(self) -> int: ...
    @property
    def price_usd_month(self) -> Decimal: ...
    @property
    def features(self) -> Sequence[str]: ...


def plan_status(user: PlanHolder, plan: PlanTerms, now: dt.datetime) -> PlanStatus:
    """Whether `user` may open new positions now, and with what capacity (pure)."""
    if user.waiver:
        active, reason = True, "operator waiver"
    elif plan.tier == "trial":
        active = now < user.trial_ends_at
        reason = "free trial" if active else "free trial ended: choose Pro or Premium to keep trading"
    else:
        active = user.plan_active_until is None or now < user.plan_active_until
        reason = f"{plan.name} plan" if active else f"{plan.name} plan expired: renew it to keep trading"
    return PlanStatus(
        tier=plan.tier,
        name=plan.name,
        capacity=plan.capacity,
        price_usd_month=plan.price_usd_month,
        features=tuple(plan.features or ()),
        trial_ends_at=user.trial_ends_at,
        active_until=user.plan_active_until,
        waiver=user.waiver,
        active=active,
        reason=reason,
    )


async def load_plans(session: AsyncSession) -> dict[str, Plan]:
    return {p.tier: p for p in (await session.execute(select(Plan))).scalars()}


async def user_plan_status(session: AsyncSession, user: User, now: dt.datetime) -> PlanStatus:
    plan = await session.get(Plan, user.plan_tier)
    if plan is None:  # pragma: no cover - FK keeps this from happening
        raise LookupError(f"unknown plan tier {user.plan_tier}")
    return plan_status(user, plan, now)


TRIAL_WARNING = dt.timedelta(days=7)


async def queue_trial_ending_alerts(session: AsyncSession, now: dt.datetime) -> int:
    """Queue one `trial_ending` alert for each trial that ends within a week; safe to run hourly,
    because the dedupe key names the trial's end date."""
    users = await session.scalars(
        select(User).where(
            User.plan_tier == "trial",
            User.waiver.is_(False),
            User.trial_ends_at > now,
            User.trial_ends_at <= now + TRIAL_WARNING,
        )
    )
    count = 0
    for user in users:
        days_left = max(1, (user.trial_ends_at - now).days)
        await emit_alert(
            session,
            user_id=user.id,
            kind="trial_ending",
            data={
                "ends_at": user.trial_ends_at.date().isoformat(),
                "detail": f"{days_left} day(s) left; choose Pro or Premium to keep trading",
            },
            dedupe_key=f"trial_ending:{user.id}:{user.trial_ends_at.date().isoformat()}",
        )
        count += 1
    return count
