"""The account flows on both database backends (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pyotp
from tests.helpers import DEFAULT_PASSWORD, register_and_login

from qari.config import load_settings
from qari.core.clocks import ManualClock


async def test_account_flows_when_either_backend_then_same_behaviour(
    database_url: str, tmp_path: Path
) -> None:
    from qari.web.app import create_app

    settings = load_settings(
        data_dir=tmp_path / "var",
        master_key_file=tmp_path / "keys" / "master.key",
        database_url=database_url,
        engine_mode="off",
    )
    clock = ManualClock(dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC))
    app = create_app(settings)
    app.state.clock = clock
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            operator = await register_and_login(client, "op@example.com")
            user = await register_and_login(client, "u@example.com")
            me = (await client.get("/api/v1/me", headers=user)).json()
            assert me["is_operator"] is False
            assert me["plan"]["trial_ends_at"].startswith("2026-04-30T09:00:00")  # 3 calendar months

            setup = (await client.post("/api/v1/auth/totp/setup", headers=user)).json()
            code = pyotp.TOTP(setup["secret"]).at(clock.now())
            enable = await client.post("/api/v1/auth/totp/enable", headers=user, json={"code": code})
            assert enable.status_code == 204

            for _ in range(5):
                bad = {"email": "u@example.com", "password": "Bad-password-123"}
                assert (await client.post("/api/v1/auth/login", json=bad)).status_code == 401
            locked = await client.post(
                "/api/v1/auth/login", json={"email": "u@example.com", "password": DEFAULT_PASSWORD}
            )
            assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0

            plan = await client.put(
                f"/api/v1/admin/users/{me['id']}/plan", headers=operator, json={"tier": "premium"}
            )
            assert plan.json()["plan"]["capacity"] == 20
            denied = await client.get("/api/v1/admin/users", headers=user)
            assert denied.status_code == 403
            audit = (await client.get("/api/v1/admin/audit", headers=operator)).json()
            assert audit[0]["action"] == "plan.set" and audit[0]["detail"]["tier"] == "premium"
