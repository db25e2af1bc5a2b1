"""G03 Symbol tradable: the market exists and is active on the exchange, not in maintenance."""

from __future__ import annotations

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext

CODE = "G03"
NAME = "symbol_tradable"


def symbol_tradable(ctx: GateContext) -> CheckResult:
    if ctx.instrument is None:
        return CheckResult.fail(CODE, NAME, f"{ctx.symbol} is not listed on the exchange")
    if not ctx.instrument.active:
        return CheckResult.fail(CODE, NAME, f"{ctx.symbol} is not trading on the exchange")
    if ctx.market_maintenance:
        return CheckResult.fail(CODE, NAME, f"{ctx.symbol} is under exchange maintenance")
    return CheckResult.ok(CODE, NAME, f"{ctx.symbol} is trading")
