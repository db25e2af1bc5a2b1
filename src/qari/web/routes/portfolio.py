"""API routes: the dashboard's portfolio and price views (the caller's own data only).

- `GET /api/v1/portfolio`: portfolio value = free + locked USDT on the connected exchange plus open
  positions marked at the last price; each position with its mark, value and unrealised P&L in USDT
  and R; and `equity`, the realised-P&L path ending at today's value (`[{time, value}]`). When no
  exchange is connected or it cannot be reached, `error` says so and the money fields are absent.
- `GET /api/v1/market/candles?symbol=SOL/USDT&timeframe=15m&limit=200`: recent candles
  `[ms, open, high, low, close, volume]` from the caller's connected exchange, for price charts.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from qari.core.errors import QariError
from qari.services import portfolio
from qari.services.errors import ServiceError
from qari.web.deps import CurrentUser, MarketClockDep, SessionDep, VaultDep
from qari.web.routes.exchange import endpoints_for
from qari.web.schemas.portfolio import Candles, PortfolioPublic

router = APIRouter(tags=["portfolio"])


def _cache(request: Request) -> portfolio.PortfolioCache:
    cache = getattr(request.app.state, "portfolio_cache", None)
    if not isinstance(cache, portfolio.PortfolioCache):
        cache = portfolio.PortfolioCache()
        request.app.state.portfolio_cache = cache
    return cache


@router.get("/portfolio", response_model=PortfolioPublic, response_model_exclude_unset=True)
async def get_portfolio(
    request: Request, user: CurrentUser, session: SessionDep, vault: VaultDep, clock: MarketClockDep
) -> dict[str, Any]:
    """Portfolio value, marked open positions with unrealised P&L, and the equity curve."""
    return await portfolio.portfolio(
        session,
        vault,
        user_id=user.id,
        endpoints=endpoints_for(request),
        now=clock.now(),
        cache=_cache(request),
    )


@router.get("/market/candles", response_model=Candles)
async def get_candles(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    vault: VaultDep,
    symbol: Annotated[str, Query(pattern=r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}$", examples=["SOL/USDT"])],
    timeframe: Annotated[str, Query(pattern="^(1m|5m|15m|1h|4h|1d)$")] = "15m",
    limit: Annotated[int, Query(ge=10, le=1000)] = 200,
    exchange: Annotated[str | None, Query(max_length=20, pattern="^[a-z]+$")] = None,
) -> dict[str, Any]:
    """Recent candles for a price chart, from the caller's connected exchange."""
    try:
        rows = await portfolio.candles(
            session,
            vault,
            user_id=user.id,
            endpoints=endpoints_for(request),
            symbol=symbol,
            timeframe=timeframe,
            limit=limit,
            exchange=exchange,
        )
    except QariError as e:
        raise ServiceError(
            502, f"the exchange did not return {symbol} candles ({type(e).__name__})"
        ) from None
    return {"symbol": symbol, "timeframe": timeframe, "candles": rows}
