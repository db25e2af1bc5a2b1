"""G16 Key healthy: key status Connected, permissions re-verified within the hour, exchange reachable."""

from __future__ import annotations

from qari.risk.check_result import CheckResult
from qari.risk.context import KEY_RECHECK_WINDOW, GateContext

CODE = "G16"
NAME = "key_healthy"


def key_healthy(ctx: GateContext) -> CheckResult:
    if ctx.key_status.lower() != "connected":
        return CheckResult.fail(CODE, NAME, f"exchange key status is {ctx.key_status}, not Connected")
    verified = ctx.permissions_verified_at
    if verified is None or ctx.now - verified > KEY_RECHECK_WINDOW:
        return CheckResult.fail(CODE, NAME, "key permissions not re-verified within the last hour")
    if not ctx.exchange_reachable:
        return CheckResult.fail(CODE, NAME, "the exchange is unreachable")
    return CheckResult.ok(CODE, NAME, "key connected and verified")
