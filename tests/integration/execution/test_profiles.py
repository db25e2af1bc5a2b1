"""SqlProfileSource: the gate's standing facts come from the accounts, settings and connection tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence.tables.accounts import PlatformState, UserSettings
from qari.risk.sizing import AllocationMode
from qari.services.trading_profiles import SqlProfileSource

from .support import START, register_user


async def test_profile_when_new_trial_user_then_defaults_and_key_not_connected(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    user_id = await register_user(sessions)
    profile = await SqlProfileSource(sessions).profile(user_id, "sandbox", START)
    assert profile.plan == "trial" and profile.capacity == 5
    assert profile.plan_active_until is not None and profile.plan_active_until > START
    assert profile.key_status == "not_connected"
    assert profile.auto_trading and profile.engine_enabled and not profile.platform_kill_switch


async def test_profile_when_user_and_operator_settings_changed_then_reflected(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    user_id = await register_user(sessions)
    async with sessions() as session, session.begin():
        settings = await session.get(UserSettings, user_id)
        assert settings is not None
        settings.allocation_mode = "fixed"
        settings.allocation_value = Decimal("250")
        settings.max_positions = 3
        settings.personal_blacklist = ["DOGE"]
        settings.daily_loss_limit_r = Decimal("1.5")
        settings.cooldown_hours = 12
        platform = await session.get(PlatformState, 1)
        if platform is None:
            platform = PlatformState(id=1)
            session.add(platform)
        platform.kill_switch = True
        platform.blacklist = ["LUNA"]

    async def connected(_s: AsyncSession, _u: int, _e: str) -> tuple[str, dt.datetime | None]:
        return "Connected", START

    profile = await SqlProfileSource(sessions, connected).profile(user_id, "sandbox", START)
    assert profile.allocation_mode is AllocationMode.FIXED and profile.allocation_value == Decimal(250)
    assert profile.capacity == 3
    assert profile.personal_blacklist == frozenset({"DOGE"}) and profile.platform_blacklist == frozenset(
        {"LUNA"}
    )
    assert profile.daily_loss_limit_r == Decimal("1.5")
    assert profile.cooldown == dt.timedelta(hours=12)
    assert profile.platform_kill_switch
    assert profile.key_status == "Connected" and profile.permissions_verified_at == START
