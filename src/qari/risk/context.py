"""GateContext: every fact the 16 checks read, gathered beforehand by the application ring.

Checks never fetch anything; they read this frozen value. "Now" is a field, not a clock read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from qari.core.instrument import InstrumentRules
from qari.risk.kill_switch import KillSwitchState, RLimits
from qari.risk.sizing import SizingPlan
from qari.risk.stops import StopBand

DEFAULT_SPREAD_LIMIT_BPS = Decimal(30)
DEFAULT_COOLDOWN = dt.timedelta(hours=24)
CORRELATION_LIMIT = 0.85
KEY_RECHECK_WINDOW = dt.timedelta(hours=1)
MIN_REWARD_RISK = Decimal(2)  # G13 on the plan, and again on the blended plan before Leg 2


@dataclass(frozen=True, slots=True)
class GateContext:
    now: dt.datetime
    user_id: int
    symbol: str
    entry_price: Decimal
    stop_price: Decimal
    pt2_price: Decimal
    # G01
    engine_enabled: bool = True
    auto_trading: bool = True
    # G02
    plan: str = "trial"
    plan_active_until: dt.datetime | None = None  # None with a paid plan means open-ended
    waiver: bool = False
    # G03
    instrument: InstrumentRules | None = None
    market_maintenance: bool = False
    # G04
    platform_blacklist: frozenset[str] = frozenset()
    personal_blacklist: frozenset[str] = frozenset()
    # G05
    open_position_symbols: frozenset[str] = frozenset()
    resting_entry_symbols: frozenset[str] = frozenset()
    # G06
    open_positions: int = 0
    capacity: int = 5
    # G07, G08
    free_quote: Decimal = Decimal(0)
    reserved_quote: Decimal = Decimal(0)  # other positions' Leg 2 reservations, not locked on the venue
    sizing: SizingPlan | None = None
    # G09
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    spread_limit_bps: Decimal = DEFAULT_SPREAD_LIMIT_BPS
    # G10
    lock_acquired: bool = False
    # G11
    last_stop_loss_at: dt.datetime | None = None
    cooldown: dt.timedelta = DEFAULT_COOLDOWN
    # G12: daily closes (oldest first) of the candidate and of each open position's symbol
    candidate_daily_closes: tuple[float, ...] = ()
    open_daily_closes: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    correlation_limit: float = CORRELATION_LIMIT
    # G13
    fee_rate: Decimal = Decimal("0.001")
    min_reward_risk: Decimal = MIN_REWARD_RISK
    # G14
    kill_switch: KillSwitchState | None = None
    r_limits: RLimits = field(default_factory=RLimits)
    # G15
    stop_band: StopBand = field(default_factory=StopBand)
    # G16
    key_status: str = "unknown"
    permissions_verified_at: dt.datetime | None = None
    exchange_reachable: bool = False
