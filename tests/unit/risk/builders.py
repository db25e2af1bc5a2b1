"""A gate context where all 16 checks pass; tests override one fact at a time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from qari.core.instrument import InstrumentRules
from qari.risk.context import GateContext
from qari.risk.kill_switch import RLimits, evaluate_kill_switch
from qari.risk.sizing import AllocationMode, size_trade

NOW = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)
RULES = InstrumentRules(
    symbol="SOL/USDT",
    base="SOL",
    quote="USDT",
    tick_size=Decimal("0.01"),
    lot_size=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    min_notional=Decimal("5"),
)
ENTRY = Decimal("100")
STOP = Decimal("85")
PT2 = Decimal("140")


def passing_context(**overrides: Any) -> GateContext:
    sizing = size_trade(
        mode=AllocationMode.FIXED,
        value=Decimal("200"),
        free_quote=Decimal("1000"),
        entry_price=ENTRY,
        stop_price=STOP,
        rules=RULES,
    )
    closes_a = tuple(100.0 + (i % 3) for i in range(31))
    closes_b = tuple(50.0 + ((i * 7) % 5) for i in range(31))
    fields: dict[str, Any] = {
        "now": NOW,
        "user_id": 1,
        "symbol": "SOL/USDT",
        "entry_price": ENTRY,
        "stop_price": STOP,
        "pt2_price": PT2,
        "engine_enabled": True,
        "auto_trading": True,
        "plan": "pro",
        "plan_active_until": NOW + dt.timedelta(days=20),
        "instrument": RULES,
        "open_position_symbols": frozenset({"ETH/USDT"}),
        "resting_entry_symbols": frozenset({"ADA/USDT"}),
        "open_positions": 2,
        "capacity": 10,
        "free_quote": Decimal("1000"),
        "sizing": sizing,
        "best_bid": Decimal("99.95"),
        "best_ask": Decimal("100.05"),
        "lock_acquired": True,
        "last_stop_loss_at": NOW - dt.timedelta(hours=30),
        "candidate_daily_closes": closes_a,
        "open_daily_closes": {"ETH/USDT": closes_b},
        "kill_switch": evaluate_kill_switch([], NOW, RLimits()),
        "key_status": "connected",
        "permissions_verified_at": NOW - dt.timedelta(minutes=10),
        "exchange_reachable": True,
    }
    fields.update(overrides)
    return GateContext(**fields)
