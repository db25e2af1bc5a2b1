"""Tables for trading (revision 0003): the trade journal.

- `positions`: one trade from Leg 1 to exit — levels, quantities, fees, P&L in USDT and R, exit
  reason, and the candidate's explanation and layer results.
- `orders`: every order with its deterministic client order id, written before it is sent.
- `fills`: every execution booked from the venue (unique per venue trade id).
- `gate_evaluations`: every gate run, passed or blocked, with all 16 results.
- `r_ledger`: realised R per closed trade, read by the kill switch and the R-tracker.
- `position_events`: the journal's narrative, one line per lifecycle step.
- `entry_locks`: the database row lock behind gate check G10 where advisory locks are unavailable.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from qari.adapters.persistence.base import MONEY, Base


class PositionRow(Base):
    __tablename__ = "positions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    exchange_id: Mapped[str] = mapped_column(String(40))
    symbol: Mapped[str] = mapped_column(String(40))
    base: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), index=True)
    leg2_state: Mapped[str] = mapped_column(String(20))
    entry_price: Mapped[Decimal] = mapped_column(MONEY)
    structural_stop: Mapped[Decimal] = mapped_column(MONEY)
    stop_price: Mapped[Decimal] = mapped_column(MONEY)
    pt1: Mapped[Decimal] = mapped_column(MONEY)
    pt2: Mapped[Decimal] = mapped_column(MONEY)
    leg1_qty: Mapped[Decimal] = mapped_column(MONEY)
    leg2_qty: Mapped[Decimal] = mapped_column(MONEY)
    planned_r_quote: Mapped[Decimal] = mapped_column(MONEY)
    fee_rate: Mapped[Decimal] = mapped_column(MONEY)
    bought_qty: Mapped[Decimal] = mapped_column(MONEY)
    sold_qty: Mapped[Decimal] = mapped_column(MONEY)
    fee_base: Mapped[Decimal] = mapped_column(MONEY)
    fees_quote: Mapped[Decimal] = mapped_column(MONEY)
    cost_quote: Mapped[Decimal] = mapped_column(MONEY)
    proceeds_quote: Mapped[Decimal] = mapped_column(MONEY)
    blended_entry: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    entered_qty_at_pt1: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    realised_pnl_quote: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    realised_r: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    exit_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    order_seq: Mapped[int] = mapped_column(Integer, default=0)
    stop_mode: Mapped[str] = mapped_column(String(20), default="native")
    explanation: Mapped[str] = mapped_column(Text, default="")
    layer_results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    gate_evaluation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    leg1_expires_at: Mapped[dt.datetime] = mapped_column()
    leg2_expires_at: Mapped[dt.datetime] = mapped_column()
    opened_at: Mapped[dt.datetime] = mapped_column()
    closed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column()
    # When the user asked to close at market; written by the API only (the engine reads it).
    close_requested_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)

    __table_args__ = (Index("ix_positions_user_symbol", "user_id", "symbol"),)


class OrderRow(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    symbol: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(10))
    side: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(20))
    qty_base: Mapped[Decimal] = mapped_column(MONEY)
    price: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    trigger_price: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    client_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    exchange_order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    filled_base: Mapped[Decimal] = mapped_column(MONEY)
    avg_price: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    fee: Mapped[Decimal] = mapped_column(MONEY)
    fee_currency: Mapped[str | None] = mapped_column(String(20), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column()


class FillRow(Base):
    __tablename__ = "fills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    symbol: Mapped[str] = mapped_column(String(40))
    trade_id: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[Decimal] = mapped_column(MONEY)
    qty_base: Mapped[Decimal] = mapped_column(MONEY)
    fee: Mapped[Decimal] = mapped_column(MONEY)
    fee_currency: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column()

    __table_args__ = (UniqueConstraint("order_id", "trade_id", name="uq_fills_order_trade"),)


class GateEvaluationRow(Base):
    __tablename__ = "gate_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    exchange_id: Mapped[str] = mapped_column(String(40))
    symbol: Mapped[str] = mapped_column(String(40), index=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    blocking_code: Mapped[str | None] = mapped_column(String(4), nullable=True, index=True)
    reason: Mapped[str] = mapped_column(Text)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    candidate: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # for `qari replay`


class RLedgerRow(Base):
    __tablename__ = "r_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"), unique=True)
    r: Mapped[Decimal] = mapped_column(MONEY)
    pnl_quote: Mapped[Decimal] = mapped_column(MONEY)
    at: Mapped[dt.datetime] = mapped_column(index=True)


class PositionEventRow(Base):
    __tablename__ = "position_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column()


class EntryLockRow(Base):
    __tablename__ = "entry_locks"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    symbol: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column()
