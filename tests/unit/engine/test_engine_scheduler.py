from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qari.core.clocks import ManualClock
from qari.engine.scheduler import AcceleratedClock, Cadence, ManualSleeper, Scheduler, Tick, due_after

T0 = dt.datetime(2024, 3, 1, 12, 0, 7, tzinfo=dt.UTC)


async def _run(cadence: Cadence, hours: float) -> list[tuple[Tick, dt.datetime]]:
    clock = ManualClock(T0)
    seen: list[tuple[Tick, dt.datetime]] = []

    async def handler(tick: Tick, at: dt.datetime) -> None:
        seen.append((tick, at))

    scheduler = Scheduler(clock, ManualSleeper(clock), cadence, handler)
    await scheduler.run(until=T0 + dt.timedelta(hours=hours))
    return seen


async def test_scheduler_when_run_for_an_hour_then_cycles_land_on_five_minute_closes() -> None:
    seen = await _run(Cadence(cycle_seconds=300, manage_seconds=30), hours=1)

    cycles = [at for tick, at in seen if tick is Tick.CYCLE]
    manages = [at for tick, at in seen if tick is Tick.MANAGE]
    assert len(cycles) == 12
    assert all(at.minute % 5 == 0 and at.second == 0 for at in cycles)
    assert len(manages) == 120
    assert all(at.second in (0, 30) for at in manages)


async def test_scheduler_when_boundaries_coincide_then_manage_runs_before_cycle() -> None:
    seen = await _run(Cadence(cycle_seconds=300, manage_seconds=30), hours=0.1)

    at_cycle = next(at for tick, at in seen if tick is Tick.CYCLE)
    same_instant = [tick for tick, at in seen if at == at_cycle]
    assert same_instant == [Tick.MANAGE, Tick.CYCLE]


async def test_scheduler_when_handler_raises_then_it_keeps_ticking() -> None:
    clock = ManualClock(T0)
    calls: list[Tick] = []

    async def handler(tick: Tick, at: dt.datetime) -> None:
        calls.append(tick)
        raise RuntimeError("boom")

    scheduler = Scheduler(clock, ManualSleeper(clock), Cadence(cycle_seconds=60, manage_seconds=60), handler)
    state = await scheduler.run(max_ticks=5)

    assert len(calls) >= 5
    assert state.failures == len(calls)


async def test_scheduler_when_cycle_overruns_then_missed_boundaries_are_skipped_not_piled_up() -> None:
    clock = ManualClock(T0)
    cycles: list[dt.datetime] = []

    async def slow(tick: Tick, at: dt.datetime) -> None:
        if tick is Tick.CYCLE:
            cycles.append(at)
            clock.advance(dt.timedelta(seconds=700))  # longer than two cycles

    scheduler = Scheduler(clock, ManualSleeper(clock), Cadence(300, 300, 3600), slow)
    state = await scheduler.run(max_ticks=3)

    assert state.skipped_cycles >= 2
    assert all(b - a >= dt.timedelta(seconds=600) for a, b in itertools.pairwise(cycles))


async def test_scheduler_when_stop_is_set_then_run_returns() -> None:
    clock = ManualClock(T0)
    stop = asyncio.Event()

    async def handler(tick: Tick, at: dt.datetime) -> None:
        stop.set()

    scheduler = Scheduler(clock, ManualSleeper(clock), Cadence(), handler)
    state = await asyncio.wait_for(scheduler.run(stop), 5)

    assert state.ticks == 1


@given(
    offset=st.integers(min_value=0, max_value=10**6),
    cycle=st.sampled_from([60, 300, 900]),
    manage=st.sampled_from([15, 30, 60]),
)
def test_due_after_when_any_moment_then_next_boundary_is_aligned_and_in_the_future(
    offset: int, cycle: int, manage: int
) -> None:
    moment = T0 + dt.timedelta(seconds=offset)
    at, ticks = due_after(moment, Cadence(cycle_seconds=cycle, manage_seconds=manage))

    assert at > moment
    assert at - moment <= dt.timedelta(seconds=min(cycle, manage))
    assert ticks
    for tick in ticks:
        step = {Tick.CYCLE: cycle, Tick.MANAGE: manage, Tick.REVERIFY: 3600}[tick]
        assert int(at.timestamp()) % step == 0


def test_accelerated_clock_when_base_advances_then_it_runs_faster() -> None:
    base = ManualClock(T0)
    clock = AcceleratedClock(base, speed=60, origin=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))

    base.advance(dt.timedelta(seconds=10))

    assert clock.now() == dt.datetime(2024, 1, 1, 0, 10, tzinfo=dt.UTC)


def test_cadence_when_interval_not_positive_then_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        Cadence(cycle_seconds=0)
