"""G13 Reward/risk ≥ 2.0: (PT2 − entry) / (entry − stop), with entry and exit fees included."""

from __future__ import annotations

from decimal import Decimal

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext

CODE = "G13"
NAME = "risk_reward"


def reward_risk(entry: Decimal, stop: Decimal, target: Decimal, fee_rate: Decimal) -> Decimal | None:
    cost = entry * (1 + fee_rate)
    risk = cost - stop * (1 - fee_rate)
    if risk <= 0:
        return None
    return (target * (1 - fee_rate) - cost) / risk


def risk_reward(ctx: GateContext) -> CheckResult:
    ratio = reward_risk(ctx.entry_price, ctx.stop_price, ctx.pt2_price, ctx.fee_rate)
    if ratio is None:
        return CheckResult.fail(CODE, NAME, "stop is not below the entry")
    if ratio < ctx.min_reward_risk:
        return CheckResult.fail(CODE, NAME, f"reward/risk {ratio:.2f} < {ctx.min_reward_risk} after fees")
    return CheckResult.ok(CODE, NAME, f"reward/risk {ratio:.2f} after fees")
