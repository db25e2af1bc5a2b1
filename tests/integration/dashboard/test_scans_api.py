"""`/api/v1/engine/state` and `/api/v1/scans/latest` over the real app and database."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from tests.helpers import register_and_login

from qari.adapters.persistence.tables.decisions import DecisionRow
from qari.adapters.persistence.tables.engine import EngineCycleRow, EngineGateOutcomeRow, EngineScanResultRow
from qari.config import Settings


@dataclass
class App:
    app: FastAPI
    client: httpx.AsyncClient


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[App]:
    from qari.web.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield App(app, client)


async def _me(app: App, auth: dict[str, str]) -> int:
    user_id: int = (await app.client.get("/api/v1/me", headers=auth)).json()["id"]
    return user_id


async def test_engine_state_when_engine_off_then_off_with_platform_switches(running: App) -> None:
    auth = await register_and_login(running.client)
    body = (await running.client.get("/api/v1/engine/state", headers=auth)).json()
    assert body["state"] == "off"
    assert body["running"] is False
    assert body["platform_engine_enabled"] is True
    assert body["platform_kill_switch"] is False


async def test_latest_scan_when_cycles_then_newest_sorted_with_only_callers_gate_outcomes(
    running: App,
) -> None:
    alice = await register_and_login(running.client)
    bob = await register_and_login(running.client)
    assert (await running.client.get("/api/v1/scans/latest", headers=alice)).json() is None
    alice_id, bob_id = await _me(running, alice), await _me(running, bob)
    at = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)
    async with running.app.state.sessions() as session:
        old = EngineCycleRow(exchange_id="sandbox", mode="sandbox", at=at, finished_at=at, duration_ms=5)
        new = EngineCycleRow(
            exchange_id="sandbox", mode="sandbox", at=at + dt.timedelta(minutes=5),
            finished_at=at + dt.timedelta(minutes=5), duration_ms=7, symbols=2, candidates=1,
        )  # fmt: skip
        session.add_all([old, new])
        await session.flush()
        session.add_all(
            [
                EngineScanResultRow(cycle_id=old.id, symbol="OLD/USDT", score=0.9, agreeing=5,
                                    layers_agreed=[1, 2, 3, 4, 5], vetoes=[]),
                EngineScanResultRow(cycle_id=new.id, symbol="ETH/USDT", score=0.2, agreeing=1,
                                    layers_agreed=[7], vetoes=["L01 bearish daily+4h"]),
                EngineScanResultRow(cycle_id=new.id, symbol="SOL/USDT", score=0.7, agreeing=4,
                                    layers_agreed=[1, 2, 3, 6], vetoes=[]),
                EngineGateOutcomeRow(cycle_id=new.id, user_id=alice_id, symbol="SOL/USDT", passed=False,
                                     blocking_code="G13", reason="R/R 1.6 < 2.0"),
                EngineGateOutcomeRow(cycle_id=new.id, user_id=bob_id, symbol="SOL/USDT", passed=True,
                                     blocking_code=None, reason=""),
            ]
        )  # fmt: skip
        await session.commit()

    body = (await running.client.get("/api/v1/scans/latest", headers=alice)).json()

    assert body["cycle_id"] == new.id
    assert [r["symbol"] for r in body["results"]] == ["SOL/USDT", "ETH/USDT"]
    sol, eth = body["results"]
    assert sol["layers_agreed"] == [1, 2, 3, 6]
    assert sol["gate"] == {"passed": False, "blocking_code": "G13", "reason": "R/R 1.6 < 2.0"}
    assert eth["gate"] is None and eth["vetoes"] == ["L01 bearish daily+4h"]
    bob_view = (await running.client.get("/api/v1/scans/latest", headers=bob)).json()
    assert bob_view["results"][0]["gate"]["passed"] is True
    assert bob_view["why_nothing_entered"] is None
    assert body["why_nothing_entered"] == "SOL/USDT gate: G13 blocked — R/R 1.6 < 2.0"
    assert sol["why"] == "gate: G13 blocked — R/R 1.6 < 2.0"


async def test_latest_scan_when_nothing_entered_then_says_why_in_words(running: App) -> None:
    auth = await register_and_login(running.client)
    at = dt.datetime(2026, 11, 22, 7, 0, tzinfo=dt.UTC)
    async with running.app.state.sessions() as session:
        cycle = EngineCycleRow(exchange_id="sandbox", mode="sandbox", at=at, finished_at=at, duration_ms=5,
                               symbols=2, candidates=0)  # fmt: skip
        session.add(cycle)
        await session.flush()
        session.add_all(
            [
                EngineScanResultRow(cycle_id=cycle.id, symbol="ETH/USDT", score=0.0, agreeing=1,
                                    layers_agreed=[9], vetoes=["btc_bearish_break"]),
                EngineScanResultRow(cycle_id=cycle.id, symbol="SOL/USDT", score=0.0, agreeing=0,
                                    layers_agreed=[], vetoes=["htf_bearish", "btc_bearish_break"]),
            ]
        )  # fmt: skip
        await session.commit()

    body = (await running.client.get("/api/v1/scans/latest", headers=auth)).json()

    assert body["why_nothing_entered"] == (
        "BTC: 4h bearish break (or daily and 4h bearish) — altcoin entries vetoed; "
        "daily and 4h bearish — entries vetoed"
    )
    assert body["results"][0]["why"].startswith("BTC: 4h bearish break")


async def test_latest_scan_when_scores_tie_then_by_symbol_and_decision_ids_shown(running: App) -> None:
    """The route reads the scan through persistence's `latest_scan` (one query, one order): equal scores
    come back by symbol whatever order they were written in, each with its decision record's id."""
    auth = await register_and_login(running.client)
    at = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
    async with running.app.state.sessions() as session:
        cycle = EngineCycleRow(exchange_id="sandbox", mode="sandbox", at=at, finished_at=at, duration_ms=5,
                               symbols=3, candidates=0)  # fmt: skip
        session.add(cycle)
        await session.flush()
        for symbol, score in (("ZEC/USDT", 0.5), ("ADA/USDT", 0.5), ("BTC/USDT", 0.0)):
            session.add(
                EngineScanResultRow(
                    cycle_id=cycle.id, symbol=symbol, score=score, agreeing=2, layers_agreed=[1, 2], vetoes=[]
                )
            )
        decision = DecisionRow(
            exchange_id="sandbox", symbol="ADA/USDT", at=at, mode="sandbox", method="analyse",
            engine_version="e", weights_version="w", score=0.5, size_bytes=0, inputs=b"", verdict=b"",
        )  # fmt: skip
        session.add(decision)
        await session.commit()

    body = (await running.client.get("/api/v1/scans/latest?exchange=sandbox", headers=auth)).json()

    assert [r["symbol"] for r in body["results"]] == ["ADA/USDT", "ZEC/USDT", "BTC/USDT"]
    assert body["results"][0]["decision_id"] == str(decision.id)
    assert body["results"][1]["decision_id"] is None


async def test_latest_scan_when_openapi_read_then_typed_shape_and_same_json(running: App) -> None:
    """The route declares its response model: `/openapi.json` names it (the dashboard's shapes come from
    there), the body validates against it with nothing dropped, and times keep the form the untyped route
    sent (FastAPI serialised its `dict[str, Any]` through pydantic too: UTC as `Z`)."""
    from qari.web.schemas.scans import LatestScan

    auth = await register_and_login(running.client)
    at = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
    levels = {"entry_low": "99", "entry_high": "101", "stop": "85", "pt1": "120", "pt2": "140"}
    async with running.app.state.sessions() as session:
        cycle = EngineCycleRow(exchange_id="sandbox", mode="sandbox", at=at, finished_at=at, duration_ms=5,
                               symbols=1, candidates=1)  # fmt: skip
        session.add(cycle)
        await session.flush()
        session.add(
            EngineScanResultRow(cycle_id=cycle.id, symbol="SOL/USDT", score=0.7, agreeing=4,
                                layers_agreed=[1, 2, 3, 6], vetoes=[],
                                candidate={**levels, "explanation": "structure and FVG agree"})
        )  # fmt: skip
        await session.commit()

    body = (await running.client.get("/api/v1/scans/latest?exchange=sandbox", headers=auth)).json()
    api = (await running.client.get("/openapi.json")).json()

    assert LatestScan.model_validate(body).model_dump(mode="json") == body
    assert body["at"] == "2026-11-22T09:00:00Z"
    assert body["results"][0]["candidate"] == {**levels, "explanation": "structure and FVG agree"}
    answer = api["paths"]["/api/v1/scans/latest"]["get"]["responses"]["200"]["content"]["application/json"]
    assert {"$ref": "#/components/schemas/LatestScan"} in answer["schema"]["anyOf"]
    assert {"results", "why_nothing_entered", "candidates"} <= set(
        api["components"]["schemas"]["LatestScan"]["properties"]
    )
