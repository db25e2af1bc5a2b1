"""G06 Within tier capacity: open positions (pending Leg 1 included) below the plan's capacity."""

from __future__ import annotations

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext

CODE = "G06"
NAME = "tier_capacity"


def tier_capacity(ctx: GateContext) -> CheckResult:
    if ctx.open_positions >= ctx.capacity:
        return CheckResult.fail(
            CODE, NAME, f"{ctx.open_positions} open positions reach the {ctx.plan} capacity of {ctx.capacity}"
        )
    return CheckResult.ok(CODE, NAME, f"{ctx.open_positions} of {ctx.capacity} positions used")
