"""GET /api/v1/decisions/{id}/replay: the caller's own gate decision replays; another user's is 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
from tests.helpers import register_and_login

from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.repositories.trading import SqlTradingStore
from qari.config import Settings
from qari.decisions import gate_inputs, gate_results_json
from qari.risk.context import GateContext
from qari.risk.gate import evaluate_gate
from qari.trading.records import GateRecord

NOW = dt.datetime(2024, 8, 8, 17, 0, tzinfo=dt.UTC)


async def _seed(settings: Settings, user_id: int, *, tamper: bool = False) -> int:
    ctx = GateContext(
        now=NOW,
        user_id=user_id,
        symbol="SOL/USDT",
        entry_price=Decimal("150.5"),
        stop_price=Decimal("130"),
        pt2_price=Decimal("210"),
        free_quote=Decimal("1000"),
        candidate_daily_closes=(140.0, 145.5, 150.25),
    )
    decision = evaluate_gate(ctx)
    results = gate_results_json(decision)
    if tamper:  # a record that says G01 passed when the inputs say it did not
        results[0] = {**results[0], "passed": not results[0]["passed"]}
    engine = make_engine(settings.resolved_database_url)
    try:
        store = SqlTradingStore(make_sessionmaker(engine))
        return await store.record_gate(
            GateRecord(
                user_id,
                "sandbox",
                "SOL/USDT",
                decision.passed,
                None,
                decision.headline,
                results,
                {},
                NOW,
                inputs=gate_inputs(ctx),
            )
        )
    finally:
        await engine.dispose()


async def test_replay_route_when_own_decision_then_identical_and_others_404(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    owner = await register_and_login(client, "owner@example.com")
    intruder = await register_and_login(client, "intruder@example.com")
    owner_id = int((await client.get("/api/v1/me", headers=owner)).json()["id"])
    same = await _seed(settings, owner_id)
    changed = await _seed(settings, owner_id, tamper=True)

    ok = await client.get(f"/api/v1/decisions/u{same}/replay", headers=owner)
    assert ok.status_code == 200, ok.text
    assert ok.json()["identical"] is True
    assert [p["kind"] for p in ok.json()["replays"]] == ["gate"]

    diff = (await client.get(f"/api/v1/decisions/u{changed}/replay", headers=owner)).json()
    assert diff["identical"] is False
    assert [d.split(":")[0] for d in diff["replays"][0]["differences"]] == ["[0].passed"]

    assert (await client.get(f"/api/v1/decisions/u{same}/replay", headers=intruder)).status_code == 404
    assert (await client.get("/api/v1/decisions/99999/replay", headers=owner)).status_code == 404
    assert (await client.get("/api/v1/decisions/abc/replay", headers=owner)).status_code == 422
    assert (await client.get(f"/api/v1/decisions/u{same}/replay")).status_code == 401
