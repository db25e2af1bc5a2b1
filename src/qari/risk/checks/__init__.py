"""The 16 gate checks in canonical order (PRODUCT.md §6). Reordering is a one-line change here."""

from __future__ import annotations

import sys
from collections.abc import Callable

from qari.risk.check_result import CheckResult
from qari.risk.checks.capital_available import capital_available
from qari.risk.checks.concurrency_lock import concurrency_lock
from qari.risk.checks.cooldown_clear import cooldown_clear
from qari.risk.checks.correlation import correlation
from qari.risk.checks.key_healthy import key_healthy
from qari.risk.checks.kill_switch_clear import kill_switch_clear
from qari.risk.checks.minimum_order_size import minimum_order_size
from qari.risk.checks.no_duplicate import no_duplicate
from qari.risk.checks.not_blacklisted import not_blacklisted
from qari.risk.checks.risk_reward import risk_reward
from qari.risk.checks.spread_limit import spread_limit
from qari.risk.checks.stop_in_band import stop_in_band
from qari.risk.checks.subscription_valid import subscription_valid
from qari.risk.checks.symbol_tradable import symbol_tradable
from qari.risk.checks.tier_capacity import tier_capacity
from qari.risk.checks.trading_active import trading_active
from qari.risk.context import GateContext

Check = Callable[[GateContext], CheckResult]

CHECKS: tuple[Check, ...] = (
    trading_active,  # G01
    subscription_valid,  # G02
    symbol_tradable,  # G03
    not_blacklisted,  # G04
    no_duplicate,  # G05
    tier_capacity,  # G06
    capital_available,  # G07
    minimum_order_size,  # G08
    spread_limit,  # G09
    concurrency_lock,  # G10
    cooldown_clear,  # G11
    correlation,  # G12
    risk_reward,  # G13
    kill_switch_clear,  # G14
    stop_in_band,  # G15
    key_healthy,  # G16
)


def _title(check: Check) -> tuple[str, str]:
    """(code, title) from the check's module: `CODE` and its docstring's "G13 Reward/risk ≥ 2.0: ..."."""
    module = sys.modules[check.__module__]
    code: str = module.CODE
    headline = (module.__doc__ or "").split(":", 1)[0].removeprefix(code).strip()
    return code, headline or str(module.NAME).replace("_", " ").capitalize()


CHECK_TITLES: dict[str, str] = dict(_title(check) for check in CHECKS)
"""What each check code means in words ("G15" -> "Stop-loss in band"), for people reading a block."""
