"""Issue 17: the operator (the first account) sets the demo market's speed through the API; nobody
else may, and the engine and the charts follow the one market clock."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from tests.helpers import register_and_login

from qari.config import DEMO_SPEED, load_settings


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    from qari.web.app import create_app

    settings = load_settings(data_dir=tmp_path / "var", master_key_file=tmp_path / "k" / "master.key")
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield application, client


async def test_speed_when_operator_sets_it_then_market_and_engine_clock_follow(
    app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    application, client = app
    operator = await register_and_login(client)  # the install's first account
    user = await register_and_login(client)

    before = (await client.get("/api/v1/sandbox/clock", headers=user)).json()
    refused = await client.put("/api/v1/sandbox/speed", json={"speed": 10}, headers=user)
    bad = await client.put("/api/v1/sandbox/speed", json={"speed": 0}, headers=operator)
    changed = await client.put("/api/v1/sandbox/speed", json={"speed": 3600}, headers=operator)
    start = application.state.market_clock.now()
    await asyncio.sleep(0.5)
    moved = application.state.market_clock.now() - start
    audit = (await client.get("/api/v1/admin/audit", headers=operator)).json()
    market_now = application.state.market_clock.now()
    portfolio = (await client.get("/api/v1/portfolio", headers=operator)).json()
    tracker = (await client.get("/api/v1/r-tracker", headers=operator)).json()

    assert before["speed"] == DEMO_SPEED and before["adjustable"] is True  # accelerated by default
    assert refused.status_code == 403
    assert bad.status_code == 422
    assert changed.status_code == 200 and changed.json()["speed"] == 3600
    assert application.state.sandbox_venue().clock.speed == 3600
    assert moved >= dt.timedelta(minutes=20)  # 0.5 s at an hour a second, on the engine's clock too
    assert any(a["action"] == "sandbox.speed" for a in audit)
    # One clock: what the user sees is dated on the market clock, not the wall clock it now runs ahead of.
    as_of = dt.datetime.fromisoformat(portfolio["as_of"])
    assert abs(as_of - market_now) < dt.timedelta(minutes=5)
    assert as_of - dt.datetime.now(dt.UTC) >= dt.timedelta(minutes=15)
    day_start = dt.datetime.fromisoformat(tracker["today"]["start"])
    assert day_start <= market_now < dt.datetime.fromisoformat(tracker["today"]["end"])
