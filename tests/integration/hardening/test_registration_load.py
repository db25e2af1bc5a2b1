"""Issue 16 item 4: Argon2 hashing runs off the event loop, and registration is limited per client."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from tests.helpers import DEFAULT_PASSWORD

from qari.config import Settings, load_settings
from qari.services import credentials

REGISTER = "/api/v1/auth/register"


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(
        data_dir=tmp_path / "var",
        master_key_file=tmp_path / "keys" / "master.key",
        engine_mode="off",
        **overrides,
    )


@contextlib.asynccontextmanager
async def _client(settings: Settings, client_host: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    from qari.web.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(client_host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            yield c


@pytest.fixture
def real_hash_cost() -> Iterator[float]:
    """A hash as costly as a small production one; yields the seconds one hash takes here."""
    credentials.set_hash_cost(time_cost=2, memory_kib=32 * 1024, parallelism=1)
    started = time.perf_counter()
    credentials.hash_password("measure-the-cost-1A!")
    yield time.perf_counter() - started
    credentials.set_hash_cost(time_cost=1, memory_kib=1024, parallelism=1)


async def test_health_when_registrations_run_then_checks_answer_during_hashes(
    tmp_path: Path, real_hash_cost: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Health checks complete while a hash is running: impossible when hashing blocks the loop.

    Checked by overlap, not by a latency threshold, so a busy CI machine cannot fail it: with the hash
    on the loop no request can finish between a hash's start and end, however fast the machine.
    """
    hashing: list[tuple[float, float, int]] = []
    real_hash = credentials.hash_password

    def timed_hash(password: str) -> str:
        started = time.perf_counter()
        try:
            return real_hash(password)
        finally:
            hashing.append((started, time.perf_counter(), threading.get_ident()))

    monkeypatch.setattr(credentials, "hash_password", timed_hash)
    async with _client(_settings(tmp_path, register_rate="1000/hour")) as client:
        answered: list[float] = []
        latencies: list[float] = []
        done = asyncio.Event()

        async def probe() -> None:
            while not done.is_set():
                due = time.perf_counter() + 0.005
                await asyncio.sleep(0.005)
                assert (await client.get("/healthz")).status_code == 200
                answered.append(time.perf_counter())
                latencies.append(answered[-1] - due)

        async def register() -> None:
            email = f"load-{uuid.uuid4().hex[:10]}@example.com"
            response = await client.post(REGISTER, json={"email": email, "password": DEFAULT_PASSWORD})
            assert response.status_code == 202, response.text

        prober = asyncio.create_task(probe())
        started = time.perf_counter()
        await asyncio.gather(*(register() for _ in range(6)))
        elapsed = time.perf_counter() - started
        done.set()
        await prober

    loop_thread = threading.get_ident()
    assert len(hashing) == 6
    assert all(thread != loop_thread for _, _, thread in hashing), "a password was hashed on the loop"
    during = sum(1 for at in answered if any(start < at < end for start, end, _ in hashing))
    worst, hash_ms = max(latencies) * 1000, real_hash_cost * 1000
    print(
        f"FIG health answered {during} of {len(answered)} checks during hashes, "
        f"max {worst:.0f} ms over {elapsed:.1f} s, hash {hash_ms:.0f} ms"
    )
    assert during > 0, "no health check was answered while a password was being hashed"


async def test_register_when_over_the_client_limit_then_429_and_other_clients_unaffected(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, register_rate="3/hour")
    from qari.web.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):

        def client(host: str) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=(host, 40000)), base_url="http://127.0.0.1"
            )

        async with client("203.0.113.7") as one, client("203.0.113.8") as other:
            for _ in range(3):
                email = f"n-{uuid.uuid4().hex[:10]}@example.com"
                response = await one.post(REGISTER, json={"email": email, "password": DEFAULT_PASSWORD})
                assert response.status_code == 202, response.text
            refused = await one.post(
                REGISTER, json={"email": "late@example.com", "password": DEFAULT_PASSWORD}
            )
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) > 0
            assert "too many registrations" in refused.json()["detail"]
            response = await other.post(
                REGISTER, json={"email": "other@example.com", "password": DEFAULT_PASSWORD}
            )
            assert response.status_code == 202, response.text
