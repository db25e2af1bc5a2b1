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

from qari.adapters.persistence import cycles
from qari.adapters.persistence.tables.exchange import ExchangeConnection
from qari.services import accounts, scan_reasons
from qari.web.deps import CurrentUser, SessionDep, SettingsDep
from qari.web.schemas.engine import EngineState
from qari.web.schemas.scans import LatestScan

router = APIRouter(tags=["engine"])


@router.get("/engine/state", response_model=EngineState, response_model_exclude_unset=True)
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


@router.get("/scans/latest", response_model=LatestScan | None)
async def latest_scan(
    user: CurrentUser,
    session: SessionDep,
    exchange: Annotated[str | None, Query(max_length=20, pattern="^[a-z]+$")] = None,
) -> dict[str, Any] | None:
    """The newest scan cycle with per-symbol results and the caller's gate outcomes (null: none yet)."""
    wanted = exchange or await _preferred_exchange(session, user.id)
    scan = await cycles.latest_scan(session, wanted, user.id) if wanted is not None else None
    if scan is None and exchange is None:
        scan = await cycles.latest_scan(session, None, user.id)
    if scan is None:
        return None
    rows = [
        {
            "symbol": r.symbol,
            "score": r.score,
            "agreeing": r.agreeing,
            "layers_agreed": r.layers_agreed,
            "vetoes": r.vetoes,
            "candidate": r.candidate,
            "gate": None
            if r.gate_passed is None
            else {"passed": r.gate_passed, "blocking_code": r.blocking_code, "reason": r.reason},
            # for GET /decisions/{id}/replay
            "decision_id": None if r.decision_id is None else str(r.decision_id),
        }
        for r in scan.rows
    ]
    body: dict[str, Any] = {
        "cycle_id": scan.cycle_id,
        "exchange": scan.exchange_id,
        "mode": scan.mode,
        "at": scan.at,
        "finished_at": scan.finished_at,
        "duration_ms": scan.duration_ms,
        "health": scan.health,
        "entries_allowed": scan.entries_allowed,
        "error": scan.error,
        "symbols": scan.symbols,
        "candidates": scan.candidates,
        "results": rows,
    }
    body["why_nothing_entered"] = scan_reasons.explain(body, rows)
    return body
