"""G11 Cooldown clear: no stop-loss on this symbol for this user within the cooldown window."""

from __future__ import annotations

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext

CODE = "G11"
NAME = "cooldown_clear"


def cooldown_clear(ctx: GateContext) -> CheckResult:
    if ctx.last_stop_loss_at is not None:
        until = ctx.last_stop_loss_at + ctx.cooldown
        if ctx.now < until:
            return CheckResult.fail(
                CODE,
                NAME,
                f"stop-loss on {ctx.symbol} at {ctx.last_stop_loss_at:%Y-%m-%d %H:%M} UTC; "
                f"cooldown until {until:%Y-%m-%d %H:%M} UTC",
            )
    return CheckResult.ok(CODE, NAME, "no recent stop-loss")
