"""G01 Trading active: the platform engine is on and the user's auto-trading toggle is on."""

from __future__ import annotations

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext

CODE = "G01"
NAME = "trading_active"


def trading_active(ctx: GateContext) -> CheckResult:
    if not ctx.engine_enabled:
        return CheckResult.fail(CODE, NAME, "the platform engine is switched off by the operator")
    if not ctx.auto_trading:
        return CheckResult.fail(CODE, NAME, "auto-trading is switched off in your settings")
    return CheckResult.ok(CODE, NAME, "engine on and auto-trading on")
