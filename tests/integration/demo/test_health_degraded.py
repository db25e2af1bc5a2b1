"""Issue 17: the health check says "degraded" (and why) when the sandbox's data cannot be read or the
engine is failing, and the one-click sandbox answers a clear 503 instead of a 500."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import httpx
from tests.helpers import register_and_login

from qari.config import load_settings
from qari.core.clocks import ManualClock
from qari.engine.scheduler import Cadence, ManualSleeper, Scheduler, Tick
from qari.web.app import engine_problems


async def test_health_when_sandbox_data_unreadable_then_degraded_and_connect_503(tmp_path: Path) -> None:
    from qari.web.app import create_app

    missing = tmp_path / "no-such-data"  # what the README's ../shared recipe gives a new user
    settings = load_settings(
        data_dir=tmp_path / "var", master_key_file=tmp_path / "k" / "master.key", sandbox_data=missing
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await asyncio.sleep(0.1)
            health = await client.get("/api/v1/health")
            headers = await register_and_login(client)
            connect = await client.post("/api/v1/exchange/connections/sandbox", headers=headers)

    body = health.json()
    assert health.status_code == 200 and body["status"] == "degraded"
    assert any("market data cannot be read" in r and "not a directory" in r for r in body["reasons"])
    assert any("engine is not running" in r for r in body["reasons"])
    assert connect.status_code == 503
    assert "sandbox" in connect.json()["detail"] and "cannot be read" in connect.json()["detail"]


async def test_health_when_engine_ticks_keep_failing_then_degraded() -> None:
    clock = ManualClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    calls: list[Tick] = []

    async def broken(tick: Tick, at: dt.datetime) -> None:
        calls.append(tick)
        raise RuntimeError("venue gone")

    scheduler = Scheduler(clock, ManualSleeper(clock), Cadence(cycle_seconds=60, manage_seconds=30), broken)
    await scheduler.run(max_ticks=4)

    status = {"state": "running", "failing_ticks": scheduler.state.failing}
    assert scheduler.state.failing == 4 and len(calls) == 4
    assert engine_problems(status) == ["the engine's last 4 ticks failed (see the server log)"]
    assert engine_problems({"state": "running", "failing_ticks": 0}) == []
