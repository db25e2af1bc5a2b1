"""Fixtures for the exchange stand-ins (one aiohttp server per test, on a free loopback port)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from tests.helpers import register_and_login

from qari.config import Settings
from qari.core.clocks import ManualClock
from qari.services.exchange_keys import Endpoints

from .standins.base import Standin
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
        self.app.state.exchange_endpoints = Endpoints(merged, timeout_ms=3000)

    async def scalar(self, sql: str) -> int:
        async with self.app.state.sessions() as session:
            return int((await session.execute(text(sql))).scalar_one())

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
