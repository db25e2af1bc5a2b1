"""Shared fixtures: isolated settings per test, a live app client, and real database backends."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from tests.market_data import MARKET_DATA as _MARKET_DATA
from tests.pg_database import fresh_database

from qari.config import Settings, load_settings

PG_ADMIN_URL = os.environ.get("QARI_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
MARKET_DATA = _MARKET_DATA  # ../shared/data/market/binance-spot-2024, wherever this checkout is


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        data_dir=tmp_path / "var",
        master_key_file=tmp_path / "keys" / "master.key",
        engine_mode="off",
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from qari.web.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            yield c


def _pg_available() -> bool:
    return port_open(5432)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    if not _pg_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (make test starts it where installed)")
    with fresh_database(PG_ADMIN_URL) as url:
        yield url


@pytest.fixture
def redis_url() -> str:
    """The machine's Redis (tests keep apart by key prefix); the suite's one skip rule for it."""
    if not port_open(6379):
        pytest.skip("Redis is not running on 127.0.0.1:6379 (make test starts it where installed)")
    return "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both backends: persistence tests take this fixture and run twice."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'qari.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> None:
    """Argon2id with small cost parameters in tests so logins are fast (production keeps the defaults)."""
    from qari.services import credentials

    credentials.set_hash_cost(time_cost=1, memory_kib=1024, parallelism=1)


# --- Sandbox exchange (issue 3): a Bybit v5 spot venue over real HTTP, for any area's tests ---------

from qari.adapters.simulator.harness import SandboxServer  # noqa: E402


@pytest.fixture
def sandbox_server() -> Iterator[SandboxServer]:
    """The sandbox on a free loopback port: seeded synthetic market (BTC, ETH, SOL, XRP, DOGE /USDT),
    market clock stepped by hand from 2026-01-01T00:00Z (request signing uses the real time).

    `.base_url`; admin: `.create_key(permissions=, balances=, ips=, read_only=, account_id=)` -> (key,
    secret),
    `.revoke_key(key)`, `.set_balances(key, {...})`, `.balances(key)`, `.orders(key)`, `.advance(ms)`,
    `.set_time(ms)`, `.now_ms()`, `.inject_fault(kind, count=/probability=, paths=, delay_ms=, after=)`,
    `.clear_faults()`, `.prices()`; clients: `.ccxt(key, secret)` (async ccxt bybit, spot; await `.close()`),
    `.pybit(key, secret)`; in-process state: `.venue.exchange` (SimulatedExchange).
    """
    with SandboxServer.start() as server:
        yield server
