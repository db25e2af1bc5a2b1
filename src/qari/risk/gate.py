"""The 16-check risk gate: runs every check in order and keeps every result.

`evaluate_gate(ctx)` never short-circuits, so the dashboard can show all verdicts; the first failure
is the headline (`blocking`). A check that raises counts as a failure with the error as its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from qari.risk.check_result import CheckResult
from qari.risk.checks import CHECKS, Check
from qari.risk.context import GateContext


@dataclass(frozen=True, slots=True)
class GateDecision:
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def blocking(self) -> CheckResult | None:
        return next((r for r in self.results if not r.passed), None)

    @property
    def headline(self) -> str:
        first = self.blocking
        if first is None:
            return "all 16 checks passed"
        return f"{first.code} {first.name}: {first.reason}"


def _run(check: Check, ctx: GateContext, index: int) -> CheckResult:
    try:
        return check(ctx)
    except (ArithmeticError, ValueError, TypeError, KeyError) as e:
        return CheckResult.fail(f"G{index:02d}", check.__name__, f"could not evaluate: {e}")


def evaluate_gate(ctx: GateContext, checks: tuple[Check, ...] = CHECKS) -> GateDecision:
    return GateDecision(tuple(_run(check, ctx, i) for i, check in enumerate(checks, start=1)))
