"""Accounts fixtures: an app whose clock the test moves (lockout windows, trial expiry, TOTP)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from qari.config import Settings
from qari.core.clocks import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC))


@pytest.fixture
async def timed_client(settings: Settings, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    from qari.web.app import create_app

    app = create_app(settings)
    app.state.clock = clock
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            yield c
