"""G09 Spread within limit: (ask − bid) / mid ≤ the configured basis points (default 30)."""

from __future__ import annotations

from decimal import Decimal

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext

CODE = "G09"
NAME = "spread_limit"


def spread_bps(bid: Decimal, ask: Decimal) -> Decimal:
    mid = (bid + ask) / 2
    return (ask - bid) / mid * 10_000


def spread_limit(ctx: GateContext) -> CheckResult:
    if ctx.best_bid is None or ctx.best_ask is None or ctx.best_bid <= 0 or ctx.best_ask < ctx.best_bid:
        return CheckResult.fail(CODE, NAME, "no usable best bid/ask for the spread")
    spread = spread_bps(ctx.best_bid, ctx.best_ask)
    if spread > ctx.spread_limit_bps:
        return CheckResult.fail(CODE, NAME, f"spread {spread:.1f} bps > limit {ctx.spread_limit_bps} bps")
    return CheckResult.ok(CODE, NAME, f"spread {spread:.1f} bps within {ctx.spread_limit_bps} bps")
