"""Kill switch: UTC day / ISO week windows, stricter user limits, platform switch."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from qari.risk.kill_switch import RealisedR, RLimits, day_window, evaluate_kill_switch, week_window

WED = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


def _r(hours_ago: float, r: str, now: dt.datetime = WED) -> RealisedR:
    return RealisedR(now - dt.timedelta(hours=hours_ago), Decimal(r))


def test_windows_when_wednesday_then_day_is_utc_and_week_starts_monday() -> None:
    assert day_window(WED) == (dt.datetime(2026, 3, 4, tzinfo=dt.UTC), dt.datetime(2026, 3, 5, tzinfo=dt.UTC))
    assert week_window(WED)[0] == dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    assert week_window(WED)[1] == dt.datetime(2026, 3, 9, tzinfo=dt.UTC)


def test_kill_switch_when_minus_two_r_today_then_halted_until_next_utc_day() -> None:
    state = evaluate_kill_switch([_r(3, "-1"), _r(1, "-1")], WED, RLimits())
    assert state.halted
    assert state.day_r == Decimal(-2)
    assert state.halted_until == dt.datetime(2026, 3, 5, tzinfo=dt.UTC)


def test_kill_switch_when_next_utc_day_then_clears() -> None:
    entries = [_r(3, "-1"), _r(1, "-1")]
    tomorrow = dt.datetime(2026, 3, 5, 0, 0, 1, tzinfo=dt.UTC)
    assert not evaluate_kill_switch(entries, tomorrow, RLimits()).halted


def test_kill_switch_when_losses_offset_by_wins_then_not_halted() -> None:
    assert not evaluate_kill_switch([_r(3, "-1.5"), _r(2, "1"), _r(1, "-1")], WED, RLimits()).halted


def test_kill_switch_when_minus_five_r_this_week_then_halted_until_monday() -> None:
    entries = [_r(24, "-1.9"), _r(48, "-1.9"), _r(2, "-1.3")]
    state = evaluate_kill_switch(entries, WED, RLimits())
    assert state.halted
    assert state.halted_until == dt.datetime(2026, 3, 9, tzinfo=dt.UTC)


def test_kill_switch_when_loss_was_last_week_then_not_counted() -> None:
    entries = [_r(24 * 3 + 1, "-4.9")]  # Sunday
    state = evaluate_kill_switch(entries, WED, RLimits())
    assert state.week_r == 0 and not state.halted


def test_r_limits_when_user_stricter_then_used_and_looser_ignored() -> None:
    assert RLimits.for_user(Decimal(1), Decimal(3)) == RLimits(Decimal(1), Decimal(3))
    assert RLimits.for_user(Decimal(4), Decimal(9)) == RLimits(Decimal(2), Decimal(5))
    state = evaluate_kill_switch([_r(1, "-1")], WED, RLimits.for_user(Decimal(1), None))
    assert state.halted


def test_kill_switch_when_platform_switch_on_then_halted_regardless() -> None:
    state = evaluate_kill_switch([], WED, RLimits(), platform_switch=True)
    assert state.halted and state.platform_switch
