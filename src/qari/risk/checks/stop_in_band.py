"""G15 Stop-loss in band: the structural stop is 10–30 % below the entry (R4); rejected, never clamped."""

from __future__ import annotations

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext
from qari.risk.stops import stop_distance

CODE = "G15"
NAME = "stop_in_band"


def stop_in_band(ctx: GateContext) -> CheckResult:
    if ctx.entry_price <= 0:
        return CheckResult.fail(CODE, NAME, "entry price must be positive")
    distance = stop_distance(ctx.entry_price, ctx.stop_price)
    band = ctx.stop_band
    if not band.contains(distance):
        return CheckResult.fail(
            CODE,
            NAME,
            f"stop {distance * 100:.1f} % below entry is outside "
            f"{band.min_distance * 100:.0f}–{band.max_distance * 100:.0f} %",
        )
    return CheckResult.ok(CODE, NAME, f"stop {distance * 100:.1f} % below entry")
