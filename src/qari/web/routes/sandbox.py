"""API routes: the built-in sandbox's market clock, for the demo (issue 17).

- `GET /api/v1/sandbox/clock`: the market time, its speed and whether it can be changed.
- `PUT /api/v1/sandbox/speed` `{"speed": 60}` (operator only): how many market seconds pass per real
  second from now on; the market time never jumps, and the engine's cycles follow at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from qari.adapters.simulator.app import sandbox_problem
from qari.adapters.simulator.clock import ReplayClock
from qari.core.time import from_ms
from qari.services import accounts
from qari.services.errors import ServiceError
from qari.web.deps import ClockDep, CurrentUser, OperatorUser, SessionDep

router = APIRouter(prefix="/sandbox", tags=["sandbox"])

MAX_SPEED = 3600.0  # an hour a second: the engine's 5-minute cycles still fit


class SandboxClock(BaseModel):
    now: dt.datetime = Field(description="the market time")
    mode: str = Field(description="how the clock runs (replay: a recorded market at `speed`)")
    speed: float | None = Field(description="market seconds per real second; null: not adjustable")
    adjustable: bool
    max_speed: float


class SpeedChange(BaseModel):
    speed: float = Field(gt=0, le=MAX_SPEED, description="market seconds per real second (1 = real time)")


def _market_clock(request: Request) -> Any:
    venue = getattr(request.app.state, "sandbox_venue", None)
    if venue is None:
        raise ServiceError(404, "the built-in sandbox is off (QARI_SANDBOX_ENABLED=false)")
    problem = sandbox_problem(venue)
    if problem is not None:
        raise ServiceError(503, problem)
    return venue().clock


def _view(clock: Any) -> dict[str, Any]:
    replay = isinstance(clock, ReplayClock)
    return {
        "now": from_ms(int(clock.now_ms())),
        "mode": clock.mode,
        "speed": clock.speed if replay else None,
        "adjustable": replay,
        "max_speed": MAX_SPEED,
    }


@router.get("/clock", response_model=SandboxClock)
async def sandbox_clock(request: Request, user: CurrentUser) -> dict[str, Any]:
    """The sandbox market's time and speed (every demo time shown is on this clock)."""
    return _view(_market_clock(request))


@router.put("/speed", response_model=SandboxClock)
async def set_sandbox_speed(
    body: SpeedChange, request: Request, operator: OperatorUser, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Speed the demo market up or down (operator only)."""
    market = _market_clock(request)
    if not isinstance(market, ReplayClock):
        raise ServiceError(409, f"the sandbox clock is {market.mode}; only a running clock has a speed")
    old = market.speed
    market.set_speed(body.speed)
    await accounts.audit(
        session, now=clock.now(), actor=operator.id, action="sandbox.speed", old=old, new=body.speed
    )
    await session.commit()
    return _view(market)
