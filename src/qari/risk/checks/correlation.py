"""G12 Correlation: 30-day Pearson correlation of daily returns against every open position < 0.85."""

from __future__ import annotations

import functools
import math

import numpy as np

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext

CODE = "G12"
NAME = "correlation"
WINDOW_DAYS = 30
MIN_RETURNS = 10


# Memoised: a pure function of its two tuples, which change once a day while every cycle gates the same
# candidates against the same open positions again.
@functools.lru_cache(maxsize=4096)
def daily_return_correlation(a: tuple[float, ...], b: tuple[float, ...]) -> float | None:
    """Pearson correlation of the last 30 daily returns both series share; None if too short or flat."""
    n = min(len(a), len(b), WINDOW_DAYS + 1)
    if n - 1 < MIN_RETURNS:
        return None
    xa = np.asarray(a[-n:], dtype=np.float64)
    xb = np.asarray(b[-n:], dtype=np.float64)
    ra = np.diff(xa) / xa[:-1]
    rb = np.diff(xb) / xb[:-1]
    if float(np.std(ra)) == 0.0 or float(np.std(rb)) == 0.0:
        return None
    value = float(np.corrcoef(ra, rb)[0, 1])
    return None if math.isnan(value) else value


def correlation(ctx: GateContext) -> CheckResult:
    worst: tuple[str, float] | None = None
    for symbol, closes in sorted(ctx.open_daily_closes.items()):
        value = daily_return_correlation(ctx.candidate_daily_closes, closes)
        if value is not None and (worst is None or value > worst[1]):
            worst = (symbol, value)
    if worst is not None and worst[1] >= ctx.correlation_limit:
        return CheckResult.fail(
            CODE, NAME, f"correlation {worst[1]:.2f} with open {worst[0]} ≥ {ctx.correlation_limit}"
        )
    if worst is None:
        return CheckResult.ok(CODE, NAME, "no open position with enough shared history to correlate")
    return CheckResult.ok(CODE, NAME, f"highest correlation {worst[1]:.2f} ({worst[0]})")
