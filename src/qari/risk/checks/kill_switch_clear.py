"""G14 Kill switch clear: daily −2R / weekly −5R not reached (R7) and the platform switch is off."""

from __future__ import annotations

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext

CODE = "G14"
NAME = "kill_switch_clear"


def kill_switch_clear(ctx: GateContext) -> CheckResult:
    state = ctx.kill_switch
    if state is None:
        return CheckResult.fail(CODE, NAME, "R ledger unavailable; entries stay halted until it is read")
    if state.halted:
        return CheckResult.fail(CODE, NAME, state.reason)
    return CheckResult.ok(
        CODE,
        NAME,
        f"today {state.day_r}R of −{state.limits.daily_r}R, "
        f"week {state.week_r}R of −{state.limits.weekly_r}R",
    )
