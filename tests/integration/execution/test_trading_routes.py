"""GET /api/v1/positions, /trades, /gate-evaluations, /r-tracker: the user's own data, filters, 4xx."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
from tests.helpers import register_and_login

from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.repositories.trading import SqlTradingStore
from qari.config import Settings
from qari.risk.kill_switch import RealisedR
from qari.trading.position import ExitReason, PositionState
from qari.trading.records import GateRecord
from qari.web.schemas.trading import GateEvaluationList, PositionPublic, RTracker, TradeList

from .test_store import LAYERS, a_position


async def _seed(settings: Settings, user_id: int) -> None:
    engine = make_engine(settings.resolved_database_url)
    try:
        store = SqlTradingStore(make_sessionmaker(engine))
        now = dt.datetime.now(tz=dt.UTC)
        gate_id = await store.record_gate(
            GateRecord(
                user_id, "sandbox", "SOL/USDT", True, None, "all 16 checks passed", [{"code": "G01"}], {}, now
            )
        )
        await store.record_gate(
            GateRecord(user_id, "sandbox", "ADA/USDT", False, "G09", "G09 spread_limit: 45 bps", [], {}, now)
        )
        open_position = a_position(user_id)
        open_position.gate_evaluation_id = gate_id
        await store.add_position(open_position)
        closed = a_position(user_id)
        closed.symbol = "ETH/USDT"
        closed = await store.add_position(closed)
        closed.state = PositionState.CLOSED
        closed.exit_reason = ExitReason.STOP_LOSS.value
        closed.realised_pnl_quote = Decimal("-14.6")
        closed.realised_r = Decimal("-1")
        closed.bought_qty = Decimal("0.2")
        closed.sold_qty = Decimal("0.2")
        closed.proceeds_quote = Decimal("17.1")
        closed.closed_at = closed.opened_at + dt.timedelta(hours=5, minutes=3)
        await store.save_position(closed, realised=RealisedR(now, Decimal("-1")))
    finally:
        await engine.dispose()


async def _user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return int((await client.get("/api/v1/me", headers=headers)).json()["id"])


async def test_trading_routes_when_user_has_trades_then_journal_and_tracker_returned(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = await register_and_login(client, "trader@example.com")
    other = await register_and_login(client, "other@example.com")
    await _seed(settings, await _user_id(client, headers))

    positions = (await client.get("/api/v1/positions", headers=headers)).json()["positions"]
    assert [p["symbol"] for p in positions] == ["SOL/USDT"]
    assert positions[0]["stop_price"] == "85.5"
    # typed: /openapi.json names the shape, which the body fills exactly (nothing dropped or added)
    assert PositionPublic.model_validate(positions[0]).model_dump(mode="json") == positions[0]
    api = (await client.get("/openapi.json")).json()
    answer = api["paths"]["/api/v1/positions"]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"] == {"$ref": "#/components/schemas/PositionList"}

    trades = (await client.get("/api/v1/trades", headers=headers, params={"status": "closed"})).json()[
        "trades"
    ]
    assert [(t["symbol"], t["exit_reason"], t["pnl_r"]) for t in trades] == [("ETH/USDT", "stop_loss", "-1")]
    assert trades[0]["explanation"] == "three layers agree"
    assert trades[0]["layer_results"] == LAYERS
    # typed: the journal's nested records are declared too (nothing dropped or added)
    assert TradeList.model_validate({"trades": trades}).model_dump(mode="json") == {"trades": trades}
    assert (trades[0]["exit_price"], trades[0]["duration_seconds"]) == ("85.5", 5 * 3600 + 180)
    sol = (await client.get("/api/v1/trades", headers=headers, params={"symbol": "SOL/USDT"})).json()[
        "trades"
    ]
    assert sol[0]["gate_evaluation"]["reason"] == "all 16 checks passed"

    blocked = (await client.get("/api/v1/gate-evaluations", headers=headers, params={"code": "G09"})).json()
    assert [e["symbol"] for e in blocked["evaluations"]] == ["ADA/USDT"]
    assert GateEvaluationList.model_validate(blocked).model_dump(mode="json") == blocked
    gates = api["paths"]["/api/v1/gate-evaluations"]["get"]["responses"]["200"]["content"]
    assert gates["application/json"]["schema"] == {"$ref": "#/components/schemas/GateEvaluationList"}

    tracker = (await client.get("/api/v1/r-tracker", headers=headers)).json()
    assert RTracker.model_validate(tracker).model_dump(mode="json") == tracker
    tracked = api["paths"]["/api/v1/r-tracker"]["get"]["responses"]["200"]["content"]
    assert tracked["application/json"]["schema"] == {"$ref": "#/components/schemas/RTracker"}
    assert tracker["today"]["realised_r"] == "-1"
    assert tracker["today"]["limit_r"] == "-2"
    assert tracker["week"]["limit_r"] == "-5"
    assert tracker["halted"] is False

    summary = (await client.get("/api/v1/trades/summary", headers=headers)).json()
    day = (closed_at := dt.datetime.fromisoformat(trades[0]["closed_at"])).date().isoformat()
    loss = {"trades": 1, "wins": 0, "pnl_usdt": "-14.6", "pnl_r": "-1"}
    assert summary["by_day"] == [{"day": day, **loss}]
    assert summary["by_pair"] == [{"symbol": "ETH/USDT", **loss}]
    later = {"since": (closed_at + dt.timedelta(seconds=1)).isoformat()}
    empty = (await client.get("/api/v1/trades/summary", headers=headers, params=later)).json()
    assert empty["total"]["trades"] == 0

    pending = positions[0]["id"]  # Leg 1 not filled: nothing to sell yet
    refused = await client.post(f"/api/v1/positions/{pending}/close", headers=headers)
    assert refused.status_code == 409 and "not filled" in refused.json()["detail"]
    assert (await client.post(f"/api/v1/positions/{pending}/close", headers=other)).status_code == 404
    assert (await client.post("/api/v1/positions/0/close", headers=headers)).status_code == 422

    assert (await client.get("/api/v1/positions", headers=other)).json()["positions"] == []
    assert (await client.get("/api/v1/trades/summary", headers=other)).json()["by_pair"] == []
    assert (await client.get("/api/v1/trades", headers=other)).json()["trades"] == []


async def test_trading_routes_when_bad_filter_or_anonymous_then_4xx(client: httpx.AsyncClient) -> None:
    headers = await register_and_login(client)
    assert (
        await client.get("/api/v1/trades", headers=headers, params={"status": "maybe"})
    ).status_code == 422
    assert (
        await client.get("/api/v1/gate-evaluations", headers=headers, params={"code": "G17"})
    ).status_code == 422
    assert (await client.get("/api/v1/trades", headers=headers, params={"limit": 0})).status_code == 422
    assert (await client.get("/api/v1/r-tracker")).status_code == 401
