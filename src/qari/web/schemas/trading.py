"""Wire schemas for positions, the trade journal, gate evaluations, the R-tracker and the profit summary
(money and quantities as decimal strings)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


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


class LayerResultPublic(BaseModel):
    """One analysis layer's verdict as the engine recorded it at entry."""

    layer: int = Field(description="the layer's number, 1..11")
    name: str
    vote: str = Field(description="agree, neutral, against or abstain")
    score: float = Field(description="0..1")
    explanation: str
    evidence: dict[str, Any] = Field(description="the figures the layer decided on")


class OrderPublic(BaseModel):
    client_order_id: str
    role: str = Field(description="leg1, leg2, stop, pt1, pt2, exit, …")
    side: str = Field(description="buy or sell")
    type: str
    qty: str | None
    price: str | None
    trigger_price: str | None
    state: str
    filled: str | None
    avg_price: str | None
    fee: str | None
    fee_currency: str | None
    created_at: dt.datetime


class FillPublic(BaseModel):
    trade_id: str
    side: str = Field(description="buy or sell")
    price: str | None
    qty: str | None
    fee: str | None
    fee_currency: str
    at: dt.datetime


class PositionEventPublic(BaseModel):
    at: dt.datetime
    kind: str
    message: str


class TradePublic(PositionPublic):
    """One trade of the journal: the position with the records behind it."""

    layer_results: list[LayerResultPublic]
    gate_evaluation: GateEvaluationPublic | None = Field(description="the gate evaluation that let it in")
    orders: list[OrderPublic]
    fills: list[FillPublic] = Field(description="oldest first")
    events: list[PositionEventPublic] = Field(description="what happened, oldest first")


class TradeList(BaseModel):
    trades: list[TradePublic]


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
