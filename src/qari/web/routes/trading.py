"""API routes: positions, the trade journal, gate evaluations and the R-tracker (the user's own only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from qari.services import accounts, reports
from qari.web.deps import MAX_ROW_ID, ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["trading"])

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, le=MAX_ROW_ID, description="rows to skip")]
Symbol = Annotated[
    str | None, Query(max_length=40, pattern=r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}$", examples=["SOL/USDT"])
]


@router.get("/positions")
async def list_positions(user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Open positions (pending Leg 1 included) with entry, stop, targets, quantities and 1R."""
    return {"positions": await reports.open_positions(session, user.id)}


@router.get("/trades")
async def list_trades(
    user: CurrentUser,
    session: SessionDep,
    symbol: Symbol = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    exit_reason: Annotated[str | None, Query(max_length=40, pattern="^[a-z0-9_]+$")] = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The trade journal: explanation, layer results, gate evaluation, orders, fills, fees, P&L, exit."""
    where = reports.TradeFilter(symbol, status, exit_reason, _aware(since), _aware(until), limit, offset)
    return {"trades": await reports.trades(session, user.id, where)}


@router.get("/gate-evaluations")
async def list_gate_evaluations(
    user: CurrentUser,
    session: SessionDep,
    symbol: Symbol = None,
    passed: bool | None = None,
    code: Annotated[str | None, Query(pattern="^G(0[1-9]|1[0-6])$")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Every gate evaluation (passed or blocked) with all 16 results and the headline reason."""
    rows = await reports.gate_evaluations(
        session, user.id, symbol=symbol, passed=passed, code=code, limit=limit, offset=offset
    )
    return {"evaluations": rows}


@router.get("/r-tracker")
async def r_tracker(user: CurrentUser, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    """Today's and this week's realised R against the daily / weekly limits."""
    platform = await accounts.platform_state(session)
    return await reports.r_tracker(session, user.id, clock.now(), platform_switch=bool(platform.kill_switch))


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)
