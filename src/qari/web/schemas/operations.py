"""The operator page's operations view: workers, queue depth, the last cycle's per-role timings."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class WorkerSeen(BaseModel):
    name: str = Field(description="host:pid of a `qari worker` process")
    state: str = Field(
        description="busy (working units now) | idle (alive, waiting for units) | gone (no heartbeat "
        "lately; listed for the units it recorded in the window)"
    )
    units: int = Field(description="units it recorded in the window")
    in_flight: int | None = Field(description="units it was working at its last heartbeat")
    threads: int | None = Field(description="units it may work at once")
    last_seen: dt.datetime = Field(description="its last heartbeat or recorded unit")
    mean_seconds: float | None


class QueueDepthPublic(BaseModel):
    queue: str
    reachable: bool
    ready: int | None = None
    delayed: int | None = None
    dead: int | None = None
    error: str | None = None


class SchedulerTiming(BaseModel):
    exchange_id: str
    seconds: float = Field(
        description="the scheduler's cycle for this exchange: market data, analysis, units"
    )
    users: int
    errors: int


class WorkerTiming(BaseModel):
    units: int
    workers: int
    mean_seconds: float | None
    max_seconds: float | None


class LastCycle(BaseModel):
    at: dt.datetime
    scheduler: list[SchedulerTiming]
    workers: WorkerTiming


class OperationsPublic(BaseModel):
    task_engine: bool = Field(description="units run on `qari worker` processes (a broker is configured)")
    window_minutes: int
    workers: list[WorkerSeen]
    queue: QueueDepthPublic | None
    last_cycle: LastCycle | None
