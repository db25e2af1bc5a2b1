"""Read models for positions, the trade journal, gate evaluations and the R-tracker.

Shared by the web routes and Telegram; every query is scoped to one user.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.persistence.repositories.trading import OPEN, order_from_row, position_from_row
from qari.adapters.persistence.tables.accounts import UserSettings
from qari.adapters.persistence.tables.trading import (
    FillRow,
    GateEvaluationRow,
    OrderRow,
    PositionEventRow,
    PositionRow,
    RLedgerRow,
)
from qari.core.time import as_utc
from qari.risk.kill_switch import RealisedR, RLimits, day_window, evaluate_kill_switch, week_window
from qari.trading.records import PositionRecord


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(Decimal(value).normalize(), "f")


WATCHDOG = "protected by QARI's watchdog"
"""How a stop the venue cannot rest is shown (event log and dashboard): the server guards it."""


def position_view(p: PositionRecord) -> dict[str, Any]:
    return {
        "id": p.id,
        "symbol": p.symbol,
        "exchange": p.exchange_id,
        "state": p.state.value,
        "leg2_state": p.leg2_state.value,
        "entry_price": _num(p.entry_price),
        "blended_entry": _num(p.blended_entry),
        "stop_price": _num(p.stop_price),
        "stop_mode": p.stop_mode,
        "stop_protection": WATCHDOG if p.stop_mode == "watchdog" else "resting on the venue",
        "pt1": _num(p.pt1),
        "pt2": _num(p.pt2),
        "qty": _num(p.held_qty),
        "bought_qty": _num(p.bought_qty),
        "sold_qty": _num(p.sold_qty),
        "one_r_usdt": _num(p.planned_r_quote),
        "fees_usdt": _num(p.fees_quote),
        "pnl_usdt": _num(p.realised_pnl_quote),
        "pnl_r": _num(p.realised_r),
        "exit_reason": p.exit_reason,
        "explanation": p.explanation,
        "exit_price": _num(exit_price(p)),
        "close_requested_at": p.close_requested_at,
        "opened_at": p.opened_at,
        "closed_at": p.closed_at,
        "duration_seconds": (
            int((as_utc(p.closed_at) - as_utc(p.opened_at)).total_seconds()) if p.closed_at else None
        ),
    }


def exit_price(p: PositionRecord) -> Decimal | None:
    """The average price of everything sold so far (targets, stop and exit together)."""
    if p.sold_qty <= 0:
        return None
    return (p.proceeds_quote / p.sold_qty).quantize(Decimal("0.00000001"))


# Built once (GET /positions runs it on every uncached request): the user's index, newest first.
_OPEN_POSITIONS = (
    select(PositionRow)
    .where(PositionRow.user_id == bindparam("user_id"), PositionRow.state.in_(OPEN))
    .order_by(PositionRow.opened_at.desc())
)


async def open_positions(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = (await session.scalars(_OPEN_POSITIONS, {"user_id": user_id})).all()
    return [position_view(position_from_row(r)) for r in rows]


@dataclass(frozen=True, slots=True)
class TradeFilter:
    symbol: str | None = None
    status: str | None = None  # "open" | "closed"
    exit_reason: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 50
    offset: int = 0


async def trades(session: AsyncSession, user_id: int, where: TradeFilter) -> list[dict[str, Any]]:
    """The trade journal: each trade with its explanation, layer results, gate evaluation, orders,
    fills, lifecycle events, fees, P&L in USDT and R, and exit reason."""
    query = select(PositionRow).where(PositionRow.user_id == user_id)
    if where.symbol:
        query = query.where(PositionRow.symbol == where.symbol)
    if where.status == "open":
        query = query.where(PositionRow.state.in_(OPEN))
    elif where.status == "closed":
        query = query.where(PositionRow.state.not_in(OPEN))
    if where.exit_reason:
        query = query.where(PositionRow.exit_reason == where.exit_reason)
    if where.since:
        query = query.where(PositionRow.opened_at >= where.since)
    if where.until:
        query = query.where(PositionRow.opened_at < where.until)
    query = (
        query.order_by(PositionRow.opened_at.desc(), PositionRow.id.desc())
        .limit(where.limit)
        .offset(where.offset)
    )
    rows = (await session.scalars(query)).all()
    ids = [r.id for r in rows]
    orders = (
        await session.scalars(select(OrderRow).where(OrderRow.position_id.in_(ids)).order_by(OrderRow.id))
    ).all()
    fills = (
        await session.scalars(select(FillRow).where(FillRow.position_id.in_(ids)).order_by(FillRow.at))
    ).all()
    events = (
        await session.scalars(
            select(PositionEventRow)
            .where(PositionEventRow.position_id.in_(ids))
            .order_by(PositionEventRow.id)
        )
    ).all()
    gate_ids = [r.gate_evaluation_id for r in rows if r.gate_evaluation_id is not None]
    gates = {
        g.id: _gate_view(g)
        for g in (
            await session.scalars(select(GateEvaluationRow).where(GateEvaluationRow.id.in_(gate_ids)))
        ).all()
    }
    out = []
    for row in rows:
        view = position_view(position_from_row(row))
        view["layer_results"] = row.layer_results
        view["gate_evaluation"] = gates.get(row.gate_evaluation_id) if row.gate_evaluation_id else None
        view["orders"] = [_order_view(o) for o in orders if o.position_id == row.id]
        view["fills"] = [_fill_view(f) for f in fills if f.position_id == row.id]
        view["events"] = [
            {"at": as_utc(e.at), "kind": e.kind, "message": e.message}
            for e in events
            if e.position_id == row.id
        ]
        out.append(view)
    return out


@dataclass
class _Bucket:
    trades: int = 0
    wins: int = 0
    pnl_usdt: Decimal = Decimal(0)
    pnl_r: Decimal = Decimal(0)

    def add(self, pnl: Decimal, r: Decimal) -> None:
        self.trades += 1
        self.wins += pnl > 0
        self.pnl_usdt += pnl
        self.pnl_r += r

    def view(self) -> dict[str, Any]:
        return {
            "trades": self.trades,
            "wins": self.wins,
            "pnl_usdt": _num(self.pnl_usdt),
            "pnl_r": _num(self.pnl_r),
        }


async def profit_summary(
    session: AsyncSession, user_id: int, since: dt.datetime | None, until: dt.datetime | None
) -> dict[str, Any]:
    """Realised profit of closed trades by UTC day of the close and by pair, with the total."""
    query = select(PositionRow).where(
        PositionRow.user_id == user_id,
        PositionRow.state.not_in(OPEN),
        PositionRow.closed_at.is_not(None),
    )
    if since:
        query = query.where(PositionRow.closed_at >= since)
    if until:
        query = query.where(PositionRow.closed_at < until)
    days: dict[str, _Bucket] = {}
    pairs: dict[str, _Bucket] = {}
    total = _Bucket()
    for row in (await session.scalars(query)).all():
        if row.closed_at is None:
            continue
        pnl = Decimal(row.realised_pnl_quote or 0)
        r = Decimal(row.realised_r or 0)
        day = as_utc(row.closed_at).date().isoformat()
        for bucket in (days.setdefault(day, _Bucket()), pairs.setdefault(row.symbol, _Bucket()), total):
            bucket.add(pnl, r)
    return {
        "by_day": [{"day": day, **days[day].view()} for day in sorted(days, reverse=True)],
        "by_pair": [
            {"symbol": s, **b.view()} for s, b in sorted(pairs.items(), key=lambda item: -item[1].pnl_usdt)
        ],
        "total": total.view(),
    }


def _order_view(row: OrderRow) -> dict[str, Any]:
    o = order_from_row(row)
    return {
        "client_order_id": o.client_order_id,
        "role": o.role.value,
        "side": o.side.value,
        "type": o.type.value,
        "qty": _num(o.qty_base),
        "price": _num(o.price),
        "trigger_price": _num(o.trigger_price),
        "state": o.state.value,
        "filled": _num(o.filled_base),
        "avg_price": _num(o.avg_price),
        "fee": _num(o.fee),
        "fee_currency": o.fee_currency,
        "created_at": o.created_at,
    }


def _fill_view(row: FillRow) -> dict[str, Any]:
    return {
        "trade_id": row.trade_id,
        "side": row.side,
        "price": _num(row.price),
        "qty": _num(row.qty_base),
        "fee": _num(row.fee),
        "fee_currency": row.fee_currency,
        "at": as_utc(row.at),
    }


def _gate_view(row: GateEvaluationRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "symbol": row.symbol,
        "exchange": row.exchange_id,
        "passed": row.passed,
        "blocking_code": row.blocking_code,
        "reason": row.reason,
        "results": row.results,
        "candidate": row.candidate,
        "at": as_utc(row.at),
    }


async def gate_evaluations(
    session: AsyncSession,
    user_id: int,
    *,
    symbol: str | None = None,
    passed: bool | None = None,
    code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    query = select(GateEvaluationRow).where(GateEvaluationRow.user_id == user_id)
    if symbol:
        query = query.where(GateEvaluationRow.symbol == symbol)
    if passed is not None:
        query = query.where(GateEvaluationRow.passed == passed)
    if code:
        query = query.where(GateEvaluationRow.blocking_code == code)
    query = (
        query.order_by(GateEvaluationRow.at.desc(), GateEvaluationRow.id.desc()).limit(limit).offset(offset)
    )
    return [_gate_view(g) for g in (await session.scalars(query)).all()]


async def user_r_limits(session: AsyncSession, user_id: int) -> RLimits:
    settings = await session.get(UserSettings, user_id)
    if settings is None:
        return RLimits()
    return RLimits.for_user(settings.daily_loss_limit_r, settings.weekly_loss_limit_r)


async def r_tracker(
    session: AsyncSession, user_id: int, now: dt.datetime, *, platform_switch: bool = False
) -> dict[str, Any]:
    """Today's (UTC) and this ISO week's realised R against the limits, and whether entries are halted."""
    limits = await user_r_limits(session, user_id)
    week_start, week_end = week_window(now)
    day_start, day_end = day_window(now)
    rows = (
        await session.scalars(
            select(RLedgerRow).where(RLedgerRow.user_id == user_id, RLedgerRow.at >= week_start)
        )
    ).all()
    state = evaluate_kill_switch(
        [RealisedR(as_utc(r.at), Decimal(r.r)) for r in rows], now, limits, platform_switch=platform_switch
    )
    return {
        "today": {
            "realised_r": _num(state.day_r),
            "limit_r": _num(-limits.daily_r),
            "start": day_start,
            "end": day_end,
        },
        "week": {
            "realised_r": _num(state.week_r),
            "limit_r": _num(-limits.weekly_r),
            "start": week_start,
            "end": week_end,
        },
        "halted": state.halted,
        "reason": state.reason,
        "halted_until": state.halted_until,
        "trades_this_week": len(rows),
    }
