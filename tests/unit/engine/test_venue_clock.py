"""The web engine in sandbox mode runs on the sandbox's market clock, whose speed can change."""

from __future__ import annotations

import asyncio
import datetime as dt

from qari.adapters.simulator.clock import ReplayClock, SteppedClock
from qari.core.clocks import WallClock
from qari.engine.scheduler import VenueClock, VenueSleeper


async def test_venue_sleeper_when_replay_accelerated_then_wakes_at_the_new_pace() -> None:
    market = ReplayClock(WallClock(), origin_ms=1_700_000_000_000, speed=1)
    clock = VenueClock(market)
    target = clock.now() + dt.timedelta(minutes=15)
    waiting = asyncio.create_task(VenueSleeper(clock, max_nap=0.05)(target))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # 15 market minutes at the real pace
    market.set_speed(90_000)  # ...are 10 ms now
    await asyncio.wait_for(waiting, timeout=2)
    assert clock.now() >= target
    assert clock.speed == 90_000


def test_venue_clock_when_stepped_then_speed_one_and_time_from_the_market() -> None:
    clock = VenueClock(SteppedClock(1_700_000_000_000))
    assert clock.speed == 1.0
    assert clock.now() == dt.datetime.fromtimestamp(1_700_000_000, tz=dt.UTC)


async def test_venue_sleeper_when_stopping_then_returns_before_a_distant_boundary() -> None:
    clock = VenueClock(ReplayClock(WallClock(), origin_ms=1_700_000_000_000, speed=1))
    stopping = asyncio.Event()
    waiting = asyncio.create_task(
        VenueSleeper(clock, max_nap=0.05, stopping=stopping)(clock.now() + dt.timedelta(hours=1))
    )
    await asyncio.sleep(0.1)
    assert not waiting.done()
    stopping.set()
    await asyncio.wait_for(waiting, timeout=1)
