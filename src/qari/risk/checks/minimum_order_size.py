"""G08 Minimum order size: each leg meets the exchange minimums and the trade is at least $5."""

from __future__ import annotations

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext
from qari.risk.sizing import MIN_TRADE_QUOTE, leg_meets_minimums

CODE = "G08"
NAME = "minimum_order_size"


def minimum_order_size(ctx: GateContext) -> CheckResult:
    plan = ctx.sizing
    if plan is None or ctx.instrument is None:
        return CheckResult.fail(CODE, NAME, "no sizing possible without the market's rules")
    if plan.total_notional < MIN_TRADE_QUOTE:
        return CheckResult.fail(
            CODE, NAME, f"trade of {plan.total_notional:.2f} USDT is below the {MIN_TRADE_QUOTE} USDT floor"
        )
    for leg, qty in (("Leg 1", plan.leg1_qty), ("Leg 2", plan.leg2_qty)):
        problem = leg_meets_minimums(qty, plan.entry_price, ctx.instrument)
        if problem is not None:
            return CheckResult.fail(CODE, NAME, f"{leg}: {problem}")
    return CheckResult.ok(CODE, NAME, f"legs {plan.leg1_qty} + {plan.leg2_qty} meet exchange minimums")
