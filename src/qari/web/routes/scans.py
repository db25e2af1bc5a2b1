"""API routes: what the engine is doing, for the dashboard's top bar, Overview and Scanner.

- `GET /api/v1/engine/state`: the engine's mode and state (running / off / failed), its last cycle,
  each exchange's health, and the operator's switches (platform engine on/off, platform kill switch).
- `GET /api/v1/scans/latest[?exchange=bybit]`: the newest scan cycle (of the caller's connected
  exchange when there is one): every symbol analysed with its score, the layers that agreed and any
  veto, plus, per symbol, what the caller's risk gate decided (`gate`: passed / blocking check / why).
  Scan results are shared market analysis; gate outcomes are the caller's own only. `why` (per symbol)
  and `why_nothing_entered` (the cycle; null when something passed the gate) say it in words.
  `decision_id` (per symbol, where decision records are kept) is for `GET /decisions/{id}/replay`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from qari.adapters.persistence.tables.decisions import DecisionRow
from qari.adapters.persistence.tables.engine import EngineCycleRow, EngineGateOutcomeRow, EngineScanResultRow
from qari.adapters.persistence.tables.exchange import ExchangeConnection
from qari.services import accounts, scan_reasons
from qari.web.deps import CurrentUser, SessionDep, SettingsDep

router = APIRouter(tags=["engine"])


@router.get("/engine/state")
async def engine_state(
    request: Request, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """The engine's state and the operator's platform switches."""
    status = getattr(request.app.state, "engine_status", None)
    body: dict[str, Any] = (
        dict(status()) if callable(status) else {"mode": settings.engine_mode, "state": "off", "error": None}
    )
    platform = await accounts.platform_state(session)
    body["platform_engine_enabled"] = bool(platform.engine_enabled)
    body["platform_kill_switch"] = bool(platform.kill_switch)
    body["running"] = body.get("state") == "running" and bool(platform.engine_enabled)
    return body


async def _preferred_exchange(session: SessionDep, user_id: int) -> str | None:
    query = select(ExchangeConnection.exchange).where(
        ExchangeConnection.user_id == user_id, ExchangeConnection.status == "connected"
    )
    return (await session.execute(query.order_by(ExchangeConnection.id))).scalars().first()


@router.get("/scans/latest")
async def latest_scan(
    user: CurrentUser,
    session: SessionDep,
    exchange: Annotated[str | None, Query(max_length=20, pattern="^[a-z]+$")] = None,
) -> dict[str, Any] | None:
    """The newest scan cycle with per-symbol results and the caller's gate outcomes (null: none yet)."""
    wanted = exchange or await _preferred_exchange(session, user.id)
    query = select(EngineCycleRow).order_by(EngineCycleRow.at.desc(), EngineCycleRow.id.desc()).limit(1)
    cycle = (await session.execute(query.where(EngineCycleRow.exchange_id == wanted))).scalars().first()
    if cycle is None and exchange is None:
        cycle = (await session.execute(query)).scalars().first()
    if cycle is None:
        return None
    results = (
        await session.execute(select(EngineScanResultRow).where(EngineScanResultRow.cycle_id == cycle.id))
    ).scalars()
    outcomes = (
        await session.execute(
            select(EngineGateOutcomeRow).where(
                EngineGateOutcomeRow.cycle_id == cycle.id, EngineGateOutcomeRow.user_id == user.id
            )
        )
    ).scalars()
    gate = {
        o.symbol: {"passed": o.passed, "blocking_code": o.blocking_code, "reason": o.reason} for o in outcomes
    }
    decided = await session.execute(
        select(DecisionRow.symbol, DecisionRow.id).where(
            DecisionRow.exchange_id == cycle.exchange_id, DecisionRow.at == cycle.at
        )
    )
    decisions = {symbol: str(decision) for symbol, decision in decided}
    ordered = sorted(results, key=lambda r: r.score, reverse=True)
    rows = [
        {
            "symbol": r.symbol,
            "score": r.score,
            "agreeing": r.agreeing,
            "layers_agreed": list(r.layers_agreed or []),
            "vetoes": list(r.vetoes or []),
            "candidate": r.candidate,
            "gate": gate.get(r.symbol),
            "decision_id": decisions.get(r.symbol),  # for GET /decisions/{id}/replay
        }
        for r in ordered
    ]
    body: dict[str, Any] = {
        "cycle_id": cycle.id,
        "exchange": cycle.exchange_id,
        "mode": cycle.mode,
        "at": cycle.at,
        "finished_at": cycle.finished_at,
        "duration_ms": cycle.duration_ms,
        "health": cycle.health,
        "entries_allowed": cycle.entries_allowed,
        "error": cycle.error,
        "symbols": cycle.symbols,
        "candidates": cycle.candidates,
        "results": rows,
    }
    body["why_nothing_entered"] = scan_reasons.explain(body, rows)
    return body
