"""A running engine (`Engine`): the cycle plus its scheduler, start-up work and the resources it owns,
whatever the mode. The composition root (`engine/kernel.py`, `backtest/wiring.py`) builds the parts and
joins them with `assemble`; the web process, the scheduler role and the backtest runner start, stop and
read it through this one handle.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from qari.core.time import Clock
from qari.engine.cycle import EngineCycle
from qari.engine.scheduler import Cadence, Scheduler, SchedulerState, SleepUntil

log = logging.getLogger("qari.engine.runtime")

Hook = Callable[[], Awaitable[None]]


class EngineMode(StrEnum):
    LIVE = "live"
    SANDBOX = "sandbox"
    BACKTEST = "backtest"


@dataclass(slots=True)
class Engine:
    """A running engine: the cycle plus its scheduler, start-up work and the resources it owns."""

    mode: EngineMode
    clock: Clock
    cycle: EngineCycle
    scheduler: Scheduler
    on_start: list[Hook] = field(default_factory=list)
    on_close: list[Hook] = field(default_factory=list)
    state: str = "created"
    started_at: dt.datetime | None = None
    error: str | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[SchedulerState] | None = None

    async def start(self) -> None:
        """Start cycling in the background (web lifespan, `qari serve`)."""
        self._stop.clear()
        self._task = asyncio.create_task(self.run(), name=f"qari-engine-{self.mode.value}")

    async def run(self, *, until: dt.datetime | None = None) -> SchedulerState:
        """Run start-up hooks (reconciliation) then cycle until stopped or `until` (backtests)."""
        self.state = "starting"
        self.started_at = self.clock.now()
        try:
            for hook in self.on_start:
                await hook()
            self.state = "running"
            result = await self.scheduler.run(self._stop, until=until)
        except asyncio.CancelledError:
            self.state = "stopped"
            raise
        except Exception as e:
            self.state = "failed"
            self.error = type(e).__name__
            log.exception("engine stopped on an error")
            raise
        self.state = "stopped"
        return result

    async def stop(self, timeout: float = 10.0) -> None:
        await self.stop_cycling(timeout)
        await self.close()

    async def stop_cycling(self, timeout: float = 10.0) -> None:
        """No new cycle; the one in flight gets `timeout` seconds, then is cut off."""
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception as e:  # already logged by run(); stopping must still release resources
                log.warning("engine task ended with %s", type(e).__name__)

    async def close(self) -> None:
        """Release what the engine owns (exchange sessions, pools): after `stop_cycling`."""
        for hook in reversed(self.on_close):
            try:
                await hook()
            except Exception as e:
                log.warning("engine close hook failed: %s", type(e).__name__)
        self.state = "stopped"

    def status(self) -> dict[str, object]:
        """What /healthz shows: mode, state, the last cycle and every exchange's health."""
        report = self.cycle.last_report
        sched = self.scheduler.state
        return {
            "mode": self.mode.value,
            "state": self.state,
            "error": self.error,
            "now": self.clock.now().isoformat(),
            "cycles": sched.cycles,
            "skipped_cycles": sched.skipped_cycles,
            "failed_ticks": sched.failures,
            "failing_ticks": sched.failing,
            "last_cycle_at": report.at.isoformat() if report else None,
            "last_cycle_seconds": round(report.seconds, 3) if report else None,
            "last_cycle_errors": report.errors if report else None,
            "exchanges": {v.exchange_id: v.as_dict() for v in self.cycle.health.views()},
            "metrics": self.cycle.metrics.snapshot()["counters"],
        }


def assemble(
    mode: EngineMode,
    clock: Clock,
    sleep_until: SleepUntil,
    cadence: Cadence,
    cycle: EngineCycle,
    *,
    on_start: list[Hook] | None = None,
    on_close: list[Hook] | None = None,
) -> Engine:
    scheduler = Scheduler(clock, sleep_until, cadence, cycle.on_tick)
    return Engine(
        mode=mode,
        clock=clock,
        cycle=cycle,
        scheduler=scheduler,
        on_start=on_start or [],
        on_close=on_close or [],
    )
