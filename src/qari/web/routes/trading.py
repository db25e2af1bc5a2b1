"""API routes: positions, the trade journal, gate evaluations and the R-tracker (the user's own only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from qari.core.time import as_utc
from qari.services import accounts, position_control, reports
from qari.web.deps import (
    MAX_ROW_ID,
    CurrentAccount,
    CurrentUser,
    MarketClockDep,
    ReadCacheDep,
    SessionDep,
    SessionsDep,
)
from qari.web.schemas.trading import (
    CloseRequested,
    GateEvaluationList,
    PositionList,
    ProfitSummary,
    RTracker,
    TradeList,
)

router = APIRouter(tags=["trading"])

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, le=MAX_ROW_ID, description="rows to skip")]
Symbol = Annotated[
    str | None, Query(max_length=40, pattern=r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}$", examples=["SOL/USDT"])
]


@router.get("/positions", response_model=PositionList)
async def list_positions(
    account: CurrentAccount, sessions: SessionsDep, cache: ReadCacheDep
) -> dict[str, Any]:
    """Open positions (pending Leg 1 included) with entry, stop, targets, quantities and 1R."""
    positions = cache.get(account.id, "positions")
    if positions is None:  # web/read_cache.py: kept until the user's next live event (PostgreSQL)
        async with cache.loading(account.id, "positions"):  # concurrent misses: one read
            positions = cache.get(account.id, "positions")
            if positions is None:
                mark = cache.mark()
                async with sessions() as session:  # opened only when not cached
                    positions = await reports.open_positions(session, account.id)
                cache.put(account.id, "positions", positions, mark)
    return {"positions": positions}


@router.post(
    "/positions/{position_id}/close",
    status_code=202,
    response_model=CloseRequested,
    responses={
        404: {"description": "not the caller's position"},
        409: {"description": "not filled or closed"},
    },
)
async def close_position(
    position_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    user: CurrentUser,
    session: SessionDep,
    clock: MarketClockDep,
) -> CloseRequested:
    """Close a filled position now at market. The engine's next management pass cancels its resting
    stop and sells the rest through the order manager (exit reason `manual`); repeating is harmless."""
    row = await position_control.request_close(session, user.id, position_id, clock.now())
    requested = as_utc(row.close_requested_at) or clock.now()
    return CloseRequested(
        id=row.id,
        symbol=row.symbol,
        state=row.state,
        close_requested_at=requested,
        message="closing at market on the engine's next pass",
    )


@router.get("/trades", response_model=TradeList)
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
    where = reports.TradeFilter(symbol, status, exit_reason, as_utc(since), as_utc(until), limit, offset)
    return {"trades": await reports.trades(session, user.id, where)}


@router.get("/trades/summary", response_model=ProfitSummary)
async def profit_summary(
    user: CurrentUser,
    session: SessionDep,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> ProfitSummary:
    """Realised profit of closed trades by day (UTC, of the close) and by pair, and the total."""
    summary = await reports.profit_summary(session, user.id, as_utc(since), as_utc(until))
    return ProfitSummary.model_validate(summary)


@router.get("/gate-evaluations", response_model=GateEvaluationList)
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


@router.get("/r-tracker", response_model=RTracker)
async def r_tracker(user: CurrentUser, session: SessionDep, clock: MarketClockDep) -> dict[str, Any]:
    """Today's and this week's realised R against the daily / weekly limits."""
    platform = await accounts.platform_state(session)
    return await reports.r_tracker(session, user.id, clock.now(), platform_switch=bool(platform.kill_switch))
