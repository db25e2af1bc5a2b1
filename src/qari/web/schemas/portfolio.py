"""Wire schemas for the portfolio view and price candles (money as decimal strings)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from qari.web.schemas.trading import PositionPublic


class MarkedPosition(PositionPublic):
    """An open position marked at the exchange's last price (null: the exchange did not quote it)."""

    mark_price: str | None
    value_usdt: str | None = Field(description="held quantity at the mark")
    unrealised_pnl_usdt: str | None
    unrealised_r: str | None


class EquityPoint(BaseModel):
    time: dt.datetime
    value: str | None = Field(description="portfolio value in USDT")


class PortfolioPublic(BaseModel):
    """The money fields and `equity` are left out when no exchange is connected or it cannot be
    reached; `error` then says which."""

    as_of: dt.datetime
    quote: str = Field(examples=["USDT"])
    exchange: str | None = Field(description="the connected exchange the value is read from")
    connected: bool
    error: str | None
    free_usdt: str | None = None
    locked_usdt: str | None = Field(None, description="USDT held by open orders")
    positions_usdt: str | None = Field(None, description="open positions at their marks")
    total_usdt: str | None = None
    positions: list[MarkedPosition]
    equity: list[EquityPoint] = Field(
        default_factory=list, description="realised-P&L path ending at today's value, oldest first"
    )


class Candles(BaseModel):
    symbol: str = Field(examples=["SOL/USDT"])
    timeframe: str = Field(examples=["15m"])
    candles: list[list[float]] = Field(description="[ms, open, high, low, close, volume], oldest first")
