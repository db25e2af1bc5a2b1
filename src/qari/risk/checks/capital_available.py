"""G07 Capital available: free USDT, less the Leg 2 reservations of open positions, covers this trade's
Leg 1 plus its own Leg 2 reservation (fees included)."""

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
    available = ctx.free_quote - ctx.reserved_quote
    if available < needed:
        return CheckResult.fail(
            CODE,
            NAME,
            f"free {ctx.free_quote:.2f} USDT less {ctx.reserved_quote:.2f} reserved for open Leg 2s "
            f"< Leg 1 + Leg 2 reservation {needed:.2f} USDT",
        )
    return CheckResult.ok(CODE, NAME, f"available {available:.2f} USDT covers {needed:.2f} USDT")
