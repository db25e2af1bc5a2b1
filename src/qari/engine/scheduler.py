"""Cadence aligned to the Clock: scan cycles on candle closes, management in between.

The scheduler never reads the wall clock and never sleeps on its own: it asks the injected Clock
what time it is and an injected `sleep_until` to wait. Live and sandbox wait on asyncio (optionally
accelerated); backtests and tests use `ManualSleeper`, which just moves a ManualClock forward, so a
day of cycles runs in milliseconds with exactly the same tick sequence. The clocks and sleepers of the
built-in venue's worlds are here too: `VenueClock`/`VenueSleeper` follow the sandbox's (possibly
accelerated) market clock; `SteppedVenueSleeper` moves a stepped venue and the engine's ManualClock
together.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from qari.core.clocks import ManualClock
from qari.core.time import Clock, from_ms, next_boundary, to_ms

log = logging.getLogger("qari.engine.scheduler")

SleepUntil = Callable[[dt.datetime], Awaitable[None]]


class Tick(StrEnum):
    """What is due at an instant, in the order it runs: keys first, exits before entries."""

    REVERIFY = "reverify"
    MANAGE = "manage"
    CYCLE = "cycle"


TICK_ORDER = (Tick.REVERIFY, Tick.MANAGE, Tick.CYCLE)

TickHandler = Callable[[Tick, dt.datetime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Cadence:
    cycle_seconds: int = 300
    manage_seconds: int = 30
    reverify_seconds: int = 3600
    # Wake this long after a boundary so the venue has published the closed candle; the tick keeps the
    # boundary as its logical time, so decisions do not depend on the delay.
    settle_seconds: float = 0.0

    def __post_init__(self) -> None:
        if min(self.cycle_seconds, self.manage_seconds, self.reverify_seconds) <= 0:
            raise ValueError("cadence intervals must be positive seconds")


def cadence_from(
    settings_cycle_seconds: int, settings_manage_seconds: int, *, settle: float = 0.0
) -> Cadence:
    """The settings' cadence: management at least once per cycle; `settle` as in `Cadence`."""
    return Cadence(
        cycle_seconds=settings_cycle_seconds,
        manage_seconds=min(settings_manage_seconds, settings_cycle_seconds),
        settle_seconds=settle,
    )


def due_after(moment: dt.datetime, cadence: Cadence) -> tuple[dt.datetime, tuple[Tick, ...]]:
    """The next boundary strictly after `moment` and every tick that falls on it."""
    candidates = {
        Tick.CYCLE: next_boundary(moment, cadence.cycle_seconds),
        Tick.MANAGE: next_boundary(moment, cadence.manage_seconds),
        Tick.REVERIFY: next_boundary(moment, cadence.reverify_seconds),
    }
    at = min(candidates.values())
    return at, tuple(t for t in TICK_ORDER if candidates[t] == at)


class ManualSleeper:
    """Waiting on a ManualClock is moving it: backtests and deterministic tests."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock

    async def __call__(self, until: dt.datetime) -> None:
        if until > self.clock.now():
            self.clock.set(until)
        await asyncio.sleep(0)


class RealTimeSleeper:
    """Waits on asyncio until the clock reaches `until`; `speed` > 1 for an accelerated clock."""

    def __init__(self, clock: Clock, speed: float = 1.0, max_nap: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.clock = clock
        self.speed = speed
        self.max_nap = max_nap

    async def __call__(self, until: dt.datetime) -> None:
        while True:
            remaining = (until - self.clock.now()).total_seconds()
            if remaining <= 0:
                return
            await asyncio.sleep(min(self.max_nap, remaining / self.speed))


class AcceleratedClock:
    """A clock that runs `speed` times faster than its base from `origin` on (sandbox replay demo)."""

    def __init__(self, base: Clock, speed: float, origin: dt.datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.base = base
        self.speed = speed
        self._base_start = base.now()
        self._origin = origin or self._base_start

    def now(self) -> dt.datetime:
        return self._origin + (self.base.now() - self._base_start) * self.speed


class SteppedVenueSleeper:
    """Waiting in a stepped world: move the venue to the instant (it fills and triggers orders on the
    price path in between), then the engine's ManualClock. Backtests advance the in-process matching
    engine; the sandbox-replay mode advances the sandbox's clock over its admin API."""

    def __init__(self, clock: ManualClock, advance_venue: Callable[[int], Awaitable[None]]) -> None:
        self.clock = clock
        self.advance_venue = advance_venue

    async def __call__(self, until: dt.datetime) -> None:
        if until > self.clock.now():
            await self.advance_venue(to_ms(until))
            self.clock.set(until)
        await asyncio.sleep(0)


class VenueClock:
    """The in-process sandbox's market clock (replay, possibly accelerated) as the engine's Clock, so
    the engine's cycles follow the candles the venue serves."""

    def __init__(self, market_clock: Any) -> None:
        self.market_clock = market_clock

    def now(self) -> dt.datetime:
        return from_ms(int(self.market_clock.now_ms()))

    @property
    def speed(self) -> float:
        """How fast the market runs now (the sandbox admin API may change it; stepped clocks: 1)."""
        return float(getattr(self.market_clock, "speed", 1.0))


class VenueSleeper:
    """Waits until the sandbox's market clock reaches an instant, at whatever speed it runs now; gives
    up early once `stopping` is set, so stopping the engine never waits for a distant boundary."""

    def __init__(
        self, clock: VenueClock, max_nap: float = 0.5, stopping: asyncio.Event | None = None
    ) -> None:
        self.clock = clock
        self.max_nap = max_nap
        self.stopping = stopping

    async def __call__(self, until: dt.datetime) -> None:
        while (remaining := (until - self.clock.now()).total_seconds()) > 0:
            if self.stopping is not None and self.stopping.is_set():
                return
            await asyncio.sleep(min(self.max_nap, remaining / self.clock.speed))


@dataclass(slots=True)
class SchedulerState:
    ticks: int = 0
    cycles: int = 0
    skipped_cycles: int = 0
    last_tick_at: dt.datetime | None = None
    failures: int = 0
    failing: int = 0  # consecutive failed ticks (the health check reports a failing engine)


class Scheduler:
    """Runs `handler(tick, at)` on every due boundary until stopped; a failing tick never stops it."""

    def __init__(self, clock: Clock, sleep_until: SleepUntil, cadence: Cadence, handler: TickHandler) -> None:
        self.clock = clock
        self.sleep_until = sleep_until
        self.cadence = cadence
        self.handler = handler
        self.state = SchedulerState()

    async def run(
        self,
        stop: asyncio.Event | None = None,
        *,
        until: dt.datetime | None = None,
        max_ticks: int | None = None,
    ) -> SchedulerState:
        settle = dt.timedelta(seconds=self.cadence.settle_seconds)
        cursor = self.clock.now()
        while not (stop is not None and stop.is_set()):
            at, ticks = due_after(cursor, self.cadence)
            if until is not None and at > until:
                break
            if max_ticks is not None and self.state.ticks >= max_ticks:
                break
            await self.sleep_until(at + settle)
            if stop is not None and stop.is_set():
                break
            for tick in ticks:
                await self._run_tick(tick, at)
            cursor = self._next_cursor(at)
        return self.state

    async def _run_tick(self, tick: Tick, at: dt.datetime) -> None:
        self.state.ticks += 1
        self.state.last_tick_at = at
        if tick is Tick.CYCLE:
            self.state.cycles += 1
        try:
            await self.handler(tick, at)
            self.state.failing = 0
        except asyncio.CancelledError:
            raise
        except Exception:  # a failed tick must not stop the engine: counted and logged below
            self.state.failures += 1
            self.state.failing += 1
            log.exception("engine tick failed", extra={"tick": tick.value, "at": at.isoformat()})

    def _next_cursor(self, at: dt.datetime) -> dt.datetime:
        """Skip boundaries that passed while a slow tick ran, instead of piling them up."""
        now = self.clock.now()
        if now <= at:
            return at
        missed = int((now - at).total_seconds() // self.cadence.cycle_seconds)
        if missed:
            self.state.skipped_cycles += missed
            log.warning("engine overran %d cycle boundaries", missed, extra={"at": at.isoformat()})
        return now
