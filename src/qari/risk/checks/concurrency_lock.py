"""G10 Concurrency lock: this attempt holds the user+symbol entry lock (database/Redis, cross-process)."""

from __future__ import annotations

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext

CODE = "G10"
NAME = "concurrency_lock"


def concurrency_lock(ctx: GateContext) -> CheckResult:
    if not ctx.lock_acquired:
        return CheckResult.fail(CODE, NAME, f"another entry attempt for {ctx.symbol} holds the lock")
    return CheckResult.ok(CODE, NAME, f"entry lock for {ctx.symbol} held")
