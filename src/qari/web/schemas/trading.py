"""Wire schemas for the trade journal and its profit summary (money as decimal strings)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TradePublic(BaseModel):
    """One trade of the journal. The nested records (layer results, gate evaluation, orders, fills,
    events) keep their own shapes, so further keys are passed through."""

    model_config = ConfigDict(extra="allow")

    id: int
    symbol: str = Field(examples=["SOL/USDT"])
    exchange: str
    state: str = Field(description="pending, open, pt1_taken, pt2_taken, closed, stopped, …")
    entry_price: str | None = Field(description="Leg 1 limit price")
    blended_entry: str | None = Field(description="average price paid for everything bought")
    exit_price: str | None = Field(description="average price of everything sold so far")
    stop_price: str | None
    pt1: str | None
    pt2: str | None
    qty: str | None
    one_r_usdt: str | None = Field(description="the planned loss at the stop, in USDT")
    fees_usdt: str | None
    pnl_usdt: str | None = Field(description="realised P&L in USDT (closed trades)")
    pnl_r: str | None = Field(description="realised P&L in R (closed trades)")
    exit_reason: str | None
    explanation: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    duration_seconds: int | None = Field(description="closed trades: from open to close")
    close_requested_at: dt.datetime | None = Field(description="set while a 'close now' is being carried out")


class TradeList(BaseModel):
    trades: list[TradePublic]


class PositionPublic(BaseModel):
    """One open position (pending Leg 1 included); money and quantities as decimal strings."""

    id: int
    symbol: str = Field(examples=["SOL/USDT"])
    exchange: str
    state: str = Field(description="pending, open, pt1_taken, pt2_taken, …")
    leg2_state: str
    entry_price: str | None = Field(description="Leg 1 limit price")
    blended_entry: str | None = Field(description="average price paid for everything bought")
    stop_price: str | None
    stop_mode: str
    stop_protection: str = Field(description="how the stop is guarded, in words")
    pt1: str | None
    pt2: str | None
    qty: str | None = Field(description="held quantity")
    bought_qty: str | None
    sold_qty: str | None
    one_r_usdt: str | None = Field(description="the planned loss at the stop, in USDT")
    fees_usdt: str | None
    pnl_usdt: str | None
    pnl_r: str | None
    exit_reason: str | None
    explanation: str
    exit_price: str | None = Field(description="average price of everything sold so far")
    close_requested_at: dt.datetime | None = Field(description="set while a 'close now' is being carried out")
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    duration_seconds: int | None


class PositionList(BaseModel):
    positions: list[PositionPublic]


class GateEvaluationPublic(BaseModel):
    """One risk gate evaluation, passed or blocked, with its 16 check results."""

    id: int
    symbol: str = Field(examples=["SOL/USDT"])
    exchange: str
    passed: bool
    blocking_code: str | None = Field(description="the first failing check (G01..G16)")
    reason: str = Field(description="the headline reason, in words")
    results: list[dict[str, Any]] = Field(description="every check's result")
    candidate: dict[str, Any] = Field(description="the candidate the gate saw")
    at: dt.datetime


class GateEvaluationList(BaseModel):
    evaluations: list[GateEvaluationPublic] = Field(description="newest first")


class RWindow(BaseModel):
    realised_r: str = Field(description="realised R in the window (decimal string)")
    limit_r: str = Field(description="the loss limit, negative (decimal string)")
    start: dt.datetime
    end: dt.datetime


class RTracker(BaseModel):
    """Today's (UTC) and this ISO week's realised R against the limits, and whether entries halt."""

    today: RWindow
    week: RWindow
    halted: bool
    reason: str
    halted_until: dt.datetime | None
    trades_this_week: int


class ProfitBucket(BaseModel):
    trades: int
    wins: int = Field(description="trades closed with a profit")
    pnl_usdt: str | None
    pnl_r: str | None


class ProfitByDay(ProfitBucket):
    day: dt.date = Field(description="UTC day of the close")


class ProfitByPair(ProfitBucket):
    symbol: str


class ProfitSummary(BaseModel):
    by_day: list[ProfitByDay] = Field(description="newest day first")
    by_pair: list[ProfitByPair] = Field(description="most profitable pair first")
    total: ProfitBucket


class CloseRequested(BaseModel):
    id: int
    symbol: str
    state: str
    close_requested_at: dt.datetime
    message: str
