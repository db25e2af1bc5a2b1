"""L10 Session context: Asia / London / New York sessions and their opens (UTC); thin hours score low.

Only the first two hours after the London or New York open count as agreement (liquidity arrives and
moves start there); the rest of the liquid day is neutral, thin hours and weekends are neutral with a
low score — session timing alone is no reason to buy.
"""

from __future__ import annotations

import numpy as np

from qari.analysis.bounds import Bound, results_bound
from qari.analysis.context import AnalysisContext
from qari.analysis.layer import LayerResult, Vote, result
from qari.core.market import IntArray, MarketSnapshot

CODE = 10
NAME = "Session context"
HOUR_MS = 3_600_000
WEEK_HOURS = 168
THURSDAY_HOURS = 72  # 1970-01-01, hour 0 of the epoch, was a Thursday: 3 days after a Monday
SESSIONS = (("asia", 0, 8), ("london", 7, 16), ("new_york", 13, 22))
OPENS = {"asia": 0, "london": 7, "new_york": 13}


def sessions_at(hour: int) -> list[str]:
    return [name for name, start, end in SESSIONS if start <= hour < end]


class SessionContext:
    code = CODE
    name = NAME

    def evaluate(self, ctx: AnalysisContext) -> LayerResult:
        hour = (ctx.at_ms // HOUR_MS) % 24
        weekday = ((ctx.at_ms // (24 * HOUR_MS)) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
        active = sessions_at(hour)
        weekend = weekday >= 5
        just_opened = [s for s in active if 0 <= hour - OPENS[s] < 2]
        evidence = {
            "hour_utc": hour,
            "sessions": active,
            "session_open": just_opened,
            "weekend": weekend,
            "thin_hours": not active or weekend,
        }
        if not active or weekend:
            why = "the weekend" if weekend else "the thin hours between New York close and Asia open"
            return result(CODE, NAME, Vote.NEUTRAL, 0.2, evidence, f"It is {why}, when liquidity is thin.")
        names = " and ".join(s.replace("_", " ").title() for s in active)
        opened = [s for s in just_opened if s in ("london", "new_york")]
        if opened:
            which = " and ".join(s.replace("_", " ").title() for s in opened)
            return result(
                CODE,
                NAME,
                Vote.AGREE,
                0.9,
                evidence,
                f"The {which} open is under way: the most liquid, most decisive hours of the day.",
            )
        if "london" in active or "new_york" in active:
            plural = "s are" if len(active) > 1 else " is"
            return result(CODE, NAME, Vote.NEUTRAL, 0.7, evidence, f"The {names} session{plural} active.")
        return result(CODE, NAME, Vote.NEUTRAL, 0.5, evidence, f"Only the {names} session is active.")


def bound(symbol: str, times: IntArray) -> Bound:
    """`evaluate` at each time: it reads the hour and the weekday only, so it runs once per hour of
    the week."""
    hour_of_week = ((times // HOUR_MS) + THURSDAY_HOURS) % WEEK_HOURS
    _, first, result_at_step = np.unique(hour_of_week, return_index=True, return_inverse=True)
    results = [
        SessionContext().evaluate(AnalysisContext(MarketSnapshot(symbol, int(times[i]), {})))
        for i in first.tolist()
    ]
    return results_bound(results, result_at_step.reshape(-1))
