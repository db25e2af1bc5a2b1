"""Market clocks and fault rules."""

from __future__ import annotations

import datetime as dt

import pytest

from qari.adapters.simulator.clock import ReplayClock, SteppedClock
from qari.adapters.simulator.faults import FaultInjector
from qari.core.clocks import ManualClock

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_replay_clock_when_real_time_passes_then_market_runs_at_speed() -> None:
    real = ManualClock(START)
    clock = ReplayClock(real, origin_ms=1_000, speed=60)
    real.advance(dt.timedelta(seconds=2))
    assert clock.now_ms() == 1_000 + 120_000


def test_stepped_clock_when_moved_back_then_refused() -> None:
    clock = SteppedClock(5_000)
    clock.advance(1_000)
    clock.set(7_000)
    with pytest.raises(ValueError, match="backwards"):
        clock.set(6_999)


def test_fault_rules_when_one_shot_or_path_limited_then_fire_as_configured() -> None:
    faults = FaultInjector(seed=1)
    faults.add("rate_limit", remaining=1, paths=("/v5/order",))
    faults.add("reject_order", remaining=None)
    assert faults.pick("/v5/account/wallet-balance", is_order_create=False) is None
    first = faults.pick("/v5/order/create", is_order_create=True)
    assert first is not None and first.kind == "rate_limit"
    second = faults.pick("/v5/order/create", is_order_create=True)
    assert second is not None and second.kind == "reject_order"  # the one-shot is used up
    assert [r.kind for r in faults.rules()] == ["reject_order"]
    with pytest.raises(ValueError, match="unknown fault kind"):
        faults.add("meteor")


def test_fault_probability_when_seeded_then_reproducible_share() -> None:
    def fired(seed: int) -> list[bool]:
        faults = FaultInjector(seed=seed)
        faults.add("http_5xx", probability=0.3, remaining=None)
        return [faults.pick("/v5/market/time", is_order_create=False) is not None for _ in range(400)]

    assert fired(3) == fired(3)
    assert 80 < sum(fired(3)) < 160


def test_replay_clock_when_speed_changed_then_new_pace_from_that_instant_without_a_jump() -> None:
    real = ManualClock(START)
    clock = ReplayClock(real, origin_ms=1_000, speed=1)
    real.advance(dt.timedelta(seconds=10))
    clock.set_speed(120)
    assert clock.now_ms() == 11_000 and clock.speed == 120
    real.advance(dt.timedelta(seconds=2))
    assert clock.now_ms() == 11_000 + 240_000
    with pytest.raises(ValueError, match="positive"):
        clock.set_speed(0)
