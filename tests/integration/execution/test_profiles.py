"""SqlProfileSource: the gate's standing facts come from the accounts, settings and connection tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from qari.adapters.persistence.tables.accounts import PlatformState, UserSettings
from qari.adapters.persistence.tables.exchange import ExchangeConnection
from qari.core.clocks import ManualClock
from qari.engine.execution import ExecutionConfig
from qari.engine.kernel import live_units
from qari.engine.metrics import EngineMetrics
from qari.risk.sizing import AllocationMode
from qari.services import exchange_keys
from qari.services.engine_ports import SqlUserDirectory
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


def _engine_units(sessions: async_sessionmaker[AsyncSession], db: AsyncEngine) -> Any:
    """The users' units as the composition root wires them (`kernel.live_units`)."""
    return live_units(
        sessions, db, None, ManualClock(START), None, {}, EngineMetrics(), 300, config=ExecutionConfig()
    )


async def test_engine_key_facts_when_no_key_then_not_connected_and_verified_time_is_utc(
    sessions: async_sessionmaker[AsyncSession], db: AsyncEngine
) -> None:
    """The engine's gate reads the key the way the services do: "not_connected" when there is none
    (it said "unknown"), and an aware UTC verification time although SQLite hands back naive ones."""
    user_id = await register_user(sessions)
    async with sessions() as session, session.begin():
        session.add(
            ExchangeConnection(
                user_id=user_id, exchange="bybit", key_hint="ab12", status="connected",
                verified_at=START - dt.timedelta(minutes=5),
            )
        )  # fmt: skip
    profiles = _engine_units(sessions, db).profiles

    none = await profiles.profile(user_id, "okx", START)
    some = await profiles.profile(user_id, "bybit", START)

    assert none.key_status == "not_connected" and none.permissions_verified_at is None
    assert some.key_status == "connected"
    assert some.permissions_verified_at == START - dt.timedelta(minutes=5)
    assert some.permissions_verified_at.tzinfo is not None


async def test_engine_directory_when_keys_stored_then_the_services_active_connections(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = [await register_user(sessions, f"u{i}@example.com") for i in range(3)]
    statuses = ("unreachable", "invalid_credentials", "connected")
    async with sessions() as session, session.begin():
        for user_id, status in zip(reversed(ids), statuses, strict=True):
            session.add(ExchangeConnection(user_id=user_id, exchange="bybit", key_hint="ab12", status=status))
        session.add(ExchangeConnection(user_id=ids[1], exchange="okx", key_hint="cd34", status="connected"))

    units = await SqlUserDirectory(sessions).units("bybit")
    async with sessions() as session:
        active = await exchange_keys.active_connections(session, "bybit")

    assert [u.user_id for u in units] == [ids[0], ids[2]]  # by user; the invalid key is left out
    assert [(u.user_id, u.connection_id) for u in units] == active
