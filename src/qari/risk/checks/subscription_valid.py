"""G02 Subscription valid: trial not expired, a paid plan active, or an operator waiver."""

from __future__ import annotations

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext

CODE = "G02"
NAME = "subscription_valid"


def subscription_valid(ctx: GateContext) -> CheckResult:
    if ctx.waiver:
        return CheckResult.ok(CODE, NAME, "operator waiver")
    if ctx.plan_active_until is None:
        if ctx.plan == "trial":
            return CheckResult.fail(CODE, NAME, "no trial end date on record; choose a plan")
        return CheckResult.ok(CODE, NAME, f"{ctx.plan} plan active")
    if ctx.now >= ctx.plan_active_until:
        return CheckResult.fail(
            CODE, NAME, f"{ctx.plan} ended {ctx.plan_active_until:%Y-%m-%d}; choose a plan to resume entries"
        )
    return CheckResult.ok(CODE, NAME, f"{ctx.plan} active until {ctx.plan_active_until:%Y-%m-%d}")
