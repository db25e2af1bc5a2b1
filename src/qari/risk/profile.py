"""The user's and platform's standing facts the gate needs, gathered once per user per cycle."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from qari.risk.context import DEFAULT_COOLDOWN, DEFAULT_SPREAD_LIMIT_BPS
from qari.risk.sizing import AllocationMode


@dataclass(frozen=True, slots=True)
class TradingProfile:
    user_id: int
    exchange_id: str
    engine_enabled: bool = True
    auto_trading: bool = True
    plan: str = "trial"
    plan_active_until: dt.datetime | None = None
    waiver: bool = False
    capacity: int = 5
    allocation_mode: AllocationMode = AllocationMode.PERCENT
    allocation_value: Decimal = Decimal(10)
    personal_blacklist: frozenset[str] = frozenset()
    platform_blacklist: frozenset[str] = frozenset()
    daily_loss_limit_r: Decimal | None = None
    weekly_loss_limit_r: Decimal | None = None
    spread_limit_bps: Decimal = DEFAULT_SPREAD_LIMIT_BPS
    cooldown: dt.timedelta = DEFAULT_COOLDOWN
    platform_kill_switch: bool = False
    key_status: str = "connected"
    permissions_verified_at: dt.datetime | None = None
    # The user's own blast-radius caps (USDT); None: the plan's (`qari.risk.guard`).
    guard_order_cap_usdt: Decimal | None = None
    guard_day_cap_usdt: Decimal | None = None
