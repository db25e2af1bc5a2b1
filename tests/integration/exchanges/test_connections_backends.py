"""Migration 0002 and the connection lifecycle on both database backends (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
from sqlalchemy import text
from tests.helpers import register_and_login

from qari.config import load_settings
from qari.core.clocks import ManualClock
from qari.services.exchange_keys import Endpoints, reverify_due

from .conftest import StartStandin
from .standins.base import StandinKey

URL = "/api/v1/exchange/connections"


async def test_connection_lifecycle_when_backend_then_stored_rotated_erased(
    database_url: str, tmp_path: Path, start_standin: StartStandin
) -> None:
    from qari.web.app import create_app

    standin = await start_standin("kucoin")
    standin.add_key(StandinKey("kc-key-000000000001", "kc-secret-1", "kc-pass-1"))
    standin.add_key(StandinKey("kc-key-000000000002", "kc-secret-2", "kc-pass-2"))
    settings = load_settings(
        data_dir=tmp_path / "var", master_key_file=tmp_path / "k" / "master.key", database_url=database_url
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.exchange_endpoints = Endpoints({"kucoin": standin.base_url}, timeout_ms=3000)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            headers = await register_and_login(client)
            first = {"exchange": "kucoin", "api_key": "kc-key-000000000001", "api_secret": "kc-secret-1"}
            created = await client.post(URL, json={**first, "passphrase": "kc-pass-1"}, headers=headers)
            assert created.status_code == 201, created.text
            second = {
                "api_key": "kc-key-000000000002",
                "api_secret": "kc-secret-2",
                "passphrase": "kc-pass-2",
            }
            rotated = await client.put(f"{URL}/{created.json()['id']}", json=second, headers=headers)
            assert rotated.status_code == 200 and rotated.json()["key_hint"] == "0002"
            verified = await client.post(f"{URL}/{created.json()['id']}/verify", headers=headers)
            assert verified.json()["status"] == "connected" and verified.json()["ip_restricted"] is False
            async with app.state.sessions() as session:
                stored = (await session.execute(text("SELECT count(*) FROM vault_secrets"))).scalar_one()
            assert stored == 1
            state = app.state
            later = ManualClock(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
            assert (
                await reverify_due(state.sessions, state.vault, later, endpoints=state.exchange_endpoints)
                == 1
            )
            assert (
                await reverify_due(state.sessions, state.vault, later, endpoints=state.exchange_endpoints)
                == 0
            )
            deleted = await client.delete(f"{URL}/{created.json()['id']}", headers=headers)
            assert deleted.status_code == 204
            async with app.state.sessions() as session:
                rows = (await session.execute(text("SELECT count(*) FROM exchange_connections"))).scalar_one()
                secrets = (await session.execute(text("SELECT count(*) FROM vault_secrets"))).scalar_one()
            assert (rows, secrets) == (0, 0)
