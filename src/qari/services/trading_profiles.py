"""Build a user's `TradingProfile` (the standing facts of gate checks 01, 02, 04, 06, 09, 11, 14, 16)
from the accounts tables: platform state, plan, the user's settings, and the key's health.

`SqlProfileSource` is the `ProfileSource` the engine's composition root plugs in. Key health comes
from the user's exchange connection (`exchange_keys.key_facts`) unless another `KeyFacts` is given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence.tables.accounts import PlatformState, User, UserSettings
from qari.core.time import as_utc
from qari.risk.profile import TradingProfile
from qari.risk.sizing import AllocationMode
from qari.services import exchange_keys
from qari.services.plans import user_plan_status

KeyFacts = Callable[[AsyncSession, int, str], Awaitable[tuple[str, dt.datetime | None]]]


async def load_trading_profile(
    session: AsyncSession,
    user_id: int,
    exchange_id: str,
    now: dt.datetime,
    *,
    key_status: str = "unknown",
    permissions_verified_at: dt.datetime | None = None,
) -> TradingProfile:
    user = await session.get(User, user_id)
    if user is None:
        raise LookupError(f"user {user_id} does not exist")
    settings = await session.get(UserSettings, user_id) or UserSettings(user_id=user_id)
    platform = await session.get(PlatformState, 1)
    plan = await user_plan_status(session, user, now)
    capacity = plan.capacity
    if settings.max_positions:
        capacity = min(capacity, int(settings.max_positions))
    until = plan.trial_ends_at if plan.tier == "trial" else plan.active_until
    return TradingProfile(
        user_id=user_id,
        exchange_id=exchange_id,
        engine_enabled=True if platform is None else bool(platform.engine_enabled),
        auto_trading=bool(settings.auto_trading if settings.auto_trading is not None else True),
        plan=plan.tier,
        plan_active_until=as_utc(until),
        waiver=plan.waiver,
        capacity=capacity,
        allocation_mode=AllocationMode(settings.allocation_mode or "percent"),
        allocation_value=Decimal(settings.allocation_value if settings.allocation_value is not None else 10),
        personal_blacklist=frozenset(settings.personal_blacklist or ()),
        platform_blacklist=frozenset(() if platform is None else platform.blacklist or ()),
        daily_loss_limit_r=None
        if settings.daily_loss_limit_r is None
        else Decimal(settings.daily_loss_limit_r),
        weekly_loss_limit_r=None
        if settings.weekly_loss_limit_r is None
        else Decimal(settings.weekly_loss_limit_r),
        spread_limit_bps=Decimal(settings.spread_limit_bps if settings.spread_limit_bps is not None else 30),
        cooldown=dt.timedelta(hours=settings.cooldown_hours if settings.cooldown_hours is not None else 24),
        platform_kill_switch=False if platform is None else bool(platform.kill_switch),
        key_status=key_status,
        permissions_verified_at=as_utc(permissions_verified_at),
        guard_order_cap_usdt=_money(settings.guard_order_cap_usdt),
        guard_day_cap_usdt=_money(settings.guard_day_cap_usdt),
    )


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class SqlProfileSource:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], key_facts: KeyFacts | None = None) -> None:
        self._sessions = sessions
        self._key_facts = key_facts or exchange_keys.key_facts

    async def profile(self, user_id: int, exchange_id: str, now: dt.datetime) -> TradingProfile:
        async with self._sessions() as session:
            status, verified = await self._key_facts(session, user_id, exchange_id)
            return await load_trading_profile(
                session, user_id, exchange_id, now, key_status=status, permissions_verified_at=verified
            )
