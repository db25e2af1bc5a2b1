"""Issue 16 items 3 and 6: the sandbox's admin API trusts no client address (only its admin token or
the platform operator's session), is not mounted in live mode unless asked, and the one-click sandbox
mints a key only for a user without one and revokes it when the connection is deleted."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from tests.helpers import register_and_login
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from qari.adapters.simulator.app import build_venue, create_sandbox_app
from qari.adapters.simulator.harness import FIXTURE_START_MS
from qari.config import Settings, load_settings

SPOOF = {"X-Forwarded-For": "127.0.0.1"}
OUTSIDER = ("203.0.113.7", 40000)  # a documentation address: anywhere on the internet


def _behind_trusting_proxy(app: FastAPI) -> httpx.ASGITransport:
    """What uvicorn does with FORWARDED_ALLOW_IPS='*': the client address comes from X-Forwarded-For."""
    return httpx.ASGITransport(app=ProxyHeadersMiddleware(app, trusted_hosts="*"), client=OUTSIDER)


async def test_admin_api_when_forwarded_for_spoofs_loopback_then_refused_without_the_token() -> None:
    app = create_sandbox_app(build_venue(stepped_start_ms=FIXTURE_START_MS))
    async with httpx.AsyncClient(transport=_behind_trusting_proxy(app), base_url="http://sandbox") as c:
        minted = await c.post("/admin/keys", json={"balances": {"USDT": "1000000"}}, headers=SPOOF)
        listed = await c.get("/admin/keys", headers=SPOOF)
        moved = await c.post("/admin/clock", json={"advance_ms": 86_400_000}, headers=SPOOF)
        wrong = await c.get("/admin/keys", headers={**SPOOF, "Authorization": "Bearer guess"})
        assert [minted.status_code, listed.status_code, moved.status_code, wrong.status_code] == [401] * 4
        assert "admin token" in minted.json()["detail"]
        assert (await c.get("/v5/market/time")).json()["retCode"] == 0  # the public venue stays open
        admin = {"Authorization": f"Bearer {app.state.admin_token}"}
        assert (await c.post("/admin/keys", json={}, headers=admin)).status_code == 200
    assert app.state.get_venue().clock.now_ms() == FIXTURE_START_MS  # nobody moved the market clock


async def test_mounted_admin_api_when_spoofed_or_not_operator_then_refused(settings: Settings) -> None:
    from qari.web.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        local = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=local, base_url="http://127.0.0.1") as c:
            operator = await register_and_login(c, "op@example.com")  # the install's first account
            user = await register_and_login(c, "someone@example.com")
        async with httpx.AsyncClient(transport=_behind_trusting_proxy(app), base_url="http://qari") as c:
            base = "/sandbox/bybit/admin"
            spoofed = [
                await c.post(f"{base}/keys", json={}, headers=SPOOF),
                await c.get(f"{base}/keys", headers=SPOOF),
                await c.post(f"{base}/clock", json={"advance_ms": 60_000}, headers=SPOOF),
            ]
            assert [r.status_code for r in spoofed] == [401, 401, 401]
            assert (await c.get(f"{base}/keys", headers={**SPOOF, **user})).status_code == 403
            mine = await c.post(f"{base}/keys", json={"balances": {"USDT": "5"}}, headers=operator)
            assert mine.status_code == 200
            listed = await c.get(f"{base}/keys", headers=operator)
            assert [k["api_key"] for k in listed.json()] == [mine.json()["api_key"]]
            # A browser session of the operator needs the CSRF header for a change, like the API.
            login = await c.post(
                "/api/v1/auth/login", json={"email": "op@example.com", "password": "Correct-Horse-Battery-9"}
            )
            assert login.status_code == 200
            forged = await c.post(f"{base}/clock", json={"speed": 2})
            assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]


def _app_routes(settings: Settings) -> FastAPI:
    from qari.web.app import create_app

    return create_app(settings)


async def test_platform_when_live_mode_then_sandbox_mounted_only_when_asked(tmp_path: Path) -> None:
    common = {"data_dir": tmp_path / "var", "master_key_file": tmp_path / "k" / "master.key"}
    live = _app_routes(load_settings(engine_mode="live", **common))
    asked = _app_routes(load_settings(engine_mode="live", sandbox_enabled=True, **common))
    paper = _app_routes(load_settings(engine_mode="sandbox", **common))
    assert not hasattr(live.state, "sandbox_venue")
    assert hasattr(asked.state, "sandbox_venue") and hasattr(paper.state, "sandbox_venue")
    transport = httpx.ASGITransport(app=live)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        assert (await c.post("/sandbox/bybit/admin/keys", json={})).status_code == 404


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, FastAPI]]:
    """The platform on a real port (the one-click key is verified over HTTP against its own sandbox)."""
    from qari.web.app import create_app

    port = _free_port()
    settings = load_settings(
        port=port, data_dir=tmp_path / "var", master_key_file=tmp_path / "keys" / "m.key", engine_mode="off"
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        async with asyncio.timeout(30):
            await task


async def test_one_click_sandbox_when_already_connected_then_no_key_minted_and_delete_revokes(
    served: tuple[str, FastAPI],
) -> None:
    base_url, app = served
    keys = app.state.sandbox_venue().keys
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        auth = await register_and_login(client)
        first = await client.post("/api/v1/exchange/connections/sandbox", headers=auth)
        assert first.status_code == 201, first.text
        assert len(keys) == 1
        (api_key,) = keys
        for _ in range(20):
            again = await client.post("/api/v1/exchange/connections/sandbox", headers=auth)
            assert again.status_code == 409
        assert list(keys) == [api_key]  # 20 refused calls, no new key

        deleted = await client.delete(f"/api/v1/exchange/connections/{first.json()['id']}", headers=auth)
        assert deleted.status_code == 204
        assert api_key not in keys  # the paper key no longer works on the sandbox
        assert (await client.post("/api/v1/exchange/connections/sandbox", headers=auth)).status_code == 201
        assert len(keys) == 1 and api_key not in keys
