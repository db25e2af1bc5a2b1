"""Fixtures for the exchange stand-ins (one aiohttp server per test, on a free loopback port)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from tests.helpers import register_and_login

from qari.adapters.simulator.harness import SandboxServer
from qari.config import Settings
from qari.core.clocks import ManualClock
from qari.core.orders import Balance
from qari.services.exchange_keys import Endpoints, open_client

from .standins.base import FULL, Standin, StandinKey
from .standins.registry import STANDINS

StartStandin = Callable[[str], Awaitable[Standin]]


@pytest.fixture
async def start_standin() -> AsyncIterator[StartStandin]:
    started: list[Standin] = []

    async def start(venue: str) -> Standin:
        standin = STANDINS[venue]()
        await standin.start()
        started.append(standin)
        return standin

    yield start
    for standin in started:
        await standin.stop()


@dataclass
class Api:
    """The whole app in-process, one logged-in user, and its exchange endpoints pointed at stand-ins."""

    app: FastAPI
    client: httpx.AsyncClient
    headers: dict[str, str]
    clock: ManualClock
    db_path: Path

    def point(self, **base_urls: str) -> None:
        current = getattr(self.app.state, "exchange_endpoints", None)
        merged = dict(current.base_urls) if isinstance(current, Endpoints) else {}
        merged.update(base_urls)
        token = current.sandbox_admin_token if isinstance(current, Endpoints) else None
        self.app.state.exchange_endpoints = Endpoints(merged, timeout_ms=3000, sandbox_admin_token=token)

    def point_sandbox(self, server: SandboxServer) -> None:
        """The sandbox venue at `server`, whose admin token mints the one-click keys."""
        self.point(sandbox=server.base_url)
        endpoints = self.app.state.exchange_endpoints
        self.app.state.exchange_endpoints = replace(endpoints, sandbox_admin_token=server.admin_token)

    async def scalar(self, sql: str) -> int:
        async with self.app.state.sessions() as session:
            return int((await session.execute(text(sql))).scalar_one())

    async def stored_client_balances(self, connection_id: int) -> tuple[dict[str, Balance], str]:
        """Balances through `open_client` for a stored connection, and the repr of what the client held."""
        user_id = await self.scalar(f"SELECT user_id FROM exchange_connections WHERE id = {connection_id}")
        state = self.app.state
        async with (
            state.sessions() as session,
            open_client(session, state.vault, connection_id, user_id, state.exchange_endpoints) as client,
        ):
            balances = await client.fetch_balances()
            return balances, repr(vars(client)) + repr(vars(client.public))

    def database_bytes(self) -> bytes:
        files = [self.db_path, self.db_path.with_name(self.db_path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime.now(dt.UTC))


@pytest.fixture
async def api(settings: Settings, clock: ManualClock) -> AsyncIterator[Api]:
    from qari.web.app import create_app

    app = create_app(settings)
    app.state.clock = clock
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            headers = await register_and_login(client)
            yield Api(app, client, headers, clock, settings.data_dir / "qari.db")


BYBIT_KEY = "QAbybitKEY00000000W1x9"
BYBIT_SECRET = "QAbybitSECRET0000000000000000000zZ7k"


async def bybit_standin(api: Api, start_standin: StartStandin, profile: str = FULL) -> Standin:
    """A Bybit stand-in holding BYBIT_KEY with `profile`, with the app pointed at it."""
    standin = await start_standin("bybit")
    standin.add_key(StandinKey(BYBIT_KEY, BYBIT_SECRET, None, profile))
    api.point(bybit=standin.base_url)
    return standin


async def connected_bybit(api: Api, start_standin: StartStandin) -> tuple[Standin, dict[str, Any]]:
    """A stored, Connected Bybit connection for the test user (through the API)."""
    standin = await bybit_standin(api, start_standin)
    payload = {"exchange": "bybit", "api_key": BYBIT_KEY, "api_secret": BYBIT_SECRET}
    response = await api.client.post("/api/v1/exchange/connections", json=payload, headers=api.headers)
    assert response.status_code == 201, response.text
    return standin, response.json()
