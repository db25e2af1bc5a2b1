"""G07 Capital available: free USDT covers Leg 1 plus the Leg 2 reservation (fees included)."""

from __future__ import annotations

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext

CODE = "G07"
NAME = "capital_available"


def capital_available(ctx: GateContext) -> CheckResult:
    plan = ctx.sizing
    if plan is None or plan.total_qty <= 0:
        return CheckResult.fail(CODE, NAME, f"free {ctx.free_quote:.2f} USDT leaves nothing to allocate")
    needed = plan.capital_needed
    if ctx.free_quote < needed:
        return CheckResult.fail(
            CODE, NAME, f"free {ctx.free_quote:.2f} USDT < Leg 1 + Leg 2 reservation {needed:.2f} USDT"
        )
    return CheckResult.ok(CODE, NAME, f"free {ctx.free_quote:.2f} USDT covers {needed:.2f} USDT")
