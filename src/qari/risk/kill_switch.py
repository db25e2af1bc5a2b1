"""R-based kill switch (R7): realised −2R in a UTC day or −5R in an ISO week halts new entries.

Pure arithmetic over an R ledger; "now" is a parameter. Users may set stricter limits, never looser.
Open positions keep their protection — the switch only blocks entries (gate check G14).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

PLATFORM_DAILY_LIMIT_R = Decimal(2)
PLATFORM_WEEKLY_LIMIT_R = Decimal(5)


@dataclass(frozen=True, slots=True)
class RLimits:
    daily_r: Decimal = PLATFORM_DAILY_LIMIT_R
    weekly_r: Decimal = PLATFORM_WEEKLY_LIMIT_R

    @staticmethod
    def for_user(daily_r: Decimal | None, weekly_r: Decimal | None) -> RLimits:
        """The stricter of the platform's and the user's limits (a user cannot loosen them)."""

        def stricter(user: Decimal | None, platform: Decimal) -> Decimal:
            if user is None or user <= 0:
                return platform
            return min(Decimal(user), platform)

        return RLimits(stricter(daily_r, PLATFORM_DAILY_LIMIT_R), stricter(weekly_r, PLATFORM_WEEKLY_LIMIT_R))


@dataclass(frozen=True, slots=True)
class RealisedR:
    at: dt.datetime
    r: Decimal


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    halted: bool
    reason: str
    day_r: Decimal
    week_r: Decimal
    limits: RLimits
    halted_until: dt.datetime | None
    platform_switch: bool = False


def day_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware UTC")
    now_utc = now.astimezone(dt.UTC)
    start = dt.datetime(now_utc.year, now_utc.month, now_utc.day, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def week_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    day_start, _ = day_window(now)
    start = day_start - dt.timedelta(days=day_start.isoweekday() - 1)
    return start, start + dt.timedelta(days=7)


def realised_in(entries: Iterable[RealisedR], start: dt.datetime, end: dt.datetime) -> Decimal:
    return sum((e.r for e in entries if start <= e.at < end), Decimal(0))


def evaluate_kill_switch(
    entries: Iterable[RealisedR], now: dt.datetime, limits: RLimits, *, platform_switch: bool = False
) -> KillSwitchState:
    items = list(entries)
    d0, d1 = day_window(now)
    w0, w1 = week_window(now)
    day_r = realised_in(items, d0, d1)
    week_r = realised_in(items, w0, w1)
    if platform_switch:
        return KillSwitchState(True, "platform kill switch is on", day_r, week_r, limits, None, True)
    if week_r <= -limits.weekly_r:
        reason = (
            f"weekly realised {week_r}R reached the −{limits.weekly_r}R limit; entries resume {w1:%Y-%m-%d}"
        )
        return KillSwitchState(True, reason, day_r, week_r, limits, w1)
    if day_r <= -limits.daily_r:
        reason = f"daily realised {day_r}R reached the −{limits.daily_r}R limit; entries resume {d1:%Y-%m-%d}"
        return KillSwitchState(True, reason, day_r, week_r, limits, d1)
    return KillSwitchState(False, "within limits", day_r, week_r, limits, None)
