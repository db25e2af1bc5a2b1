"""G05 No duplicate: no open position and no resting entry order in that symbol."""

from __future__ import annotations

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext

CODE = "G05"
NAME = "no_duplicate"


def no_duplicate(ctx: GateContext) -> CheckResult:
    if ctx.symbol in ctx.open_position_symbols:
        return CheckResult.fail(CODE, NAME, f"a position in {ctx.symbol} is already open")
    if ctx.symbol in ctx.resting_entry_symbols:
        return CheckResult.fail(CODE, NAME, f"an entry order for {ctx.symbol} is already resting")
    return CheckResult.ok(CODE, NAME, f"no position or entry order in {ctx.symbol}")
