"""Wire schemas for the engine's state (`GET /engine/state`, `GET /health`).

The engine reports what it knows: while it is off or failed only `mode`, `state` and `error`, so the
other fields are optional (left out, not null) rather than guessed."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class ExchangeHealthPublic(BaseModel):
    state: str = Field(description="up, degraded or maintenance")
    consecutive_failures: int
    last_error: str | None
    last_success_at: dt.datetime | None


class EngineStatus(BaseModel):
    mode: str = Field(description="sandbox, live or off")
    state: str = Field(description="starting, running, off or failed")
    error: str | None
    now: dt.datetime | None = Field(None, description="the engine's clock (the sandbox market's time)")
    cycles: int | None = None
    skipped_cycles: int | None = None
    failed_ticks: int | None = None
    failing_ticks: int | None = Field(None, description="consecutive failed ticks")
    last_cycle_at: dt.datetime | None = None
    last_cycle_seconds: float | None = None
    last_cycle_errors: int | None = None
    exchanges: dict[str, ExchangeHealthPublic] | None = None
    metrics: dict[str, int] | None = Field(None, description="the engine's counters")


class EngineState(EngineStatus):
    platform_engine_enabled: bool = Field(description="the operator's engine switch")
    platform_kill_switch: bool
    running: bool = Field(description="running, and not switched off by the operator")


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    reasons: list[str] | None = Field(None, description="why degraded (left out when ok)")
    engine: EngineStatus | None = Field(None, description="left out where no engine runs in this process")
