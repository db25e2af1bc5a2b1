"""The web process starts the engine (sandbox mode by default) and /healthz reports its state."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from qari.config import load_settings


async def _healthz(settings_overrides: dict[str, object], tmp_path: Path) -> dict[str, object]:
    from qari.web.app import create_app

    settings = load_settings(
        data_dir=tmp_path / "var", master_key_file=tmp_path / "keys" / "master.key", **settings_overrides
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await asyncio.sleep(0.2)
            response = await client.get("/healthz")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def test_healthz_when_engine_runs_in_sandbox_mode_then_reports_mode_and_state(tmp_path: Path) -> None:
    body = await _healthz({"engine_mode": "sandbox"}, tmp_path)

    engine = body["engine"]
    assert isinstance(engine, dict)
    assert engine["mode"] == "sandbox"
    assert engine["state"] in ("starting", "running")
    assert "exchanges" in engine and "cycles" in engine


async def test_healthz_when_engine_off_then_says_off(tmp_path: Path) -> None:
    body = await _healthz({"engine_mode": "off"}, tmp_path)

    assert body["engine"] == {"mode": "off", "state": "off", "error": None}


async def test_healthz_when_sandbox_mode_without_sandbox_then_engine_failed_but_app_serves(
    tmp_path: Path,
) -> None:
    body = await _healthz({"engine_mode": "sandbox", "sandbox_enabled": False}, tmp_path)

    engine = body["engine"]
    assert isinstance(engine, dict)
    assert engine["state"] == "failed"
    assert "QARI_SANDBOX_ENABLED" in str(engine["error"])
