"""The web process's session-lookup cache (web/session_cache.py): a session row is read once per TTL,
an end of session in this process is refused at once, one elsewhere within the TTL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, event
from tests.helpers import DEFAULT_PASSWORD, register_and_login

from qari.adapters.persistence.db import make_engine, make_sessionmaker, transaction
from qari.adapters.persistence.tables.accounts import LoginSession
from qari.config import Settings
from qari.web.session_cache import CachedSession, SessionCache

TTL = 1.5  # the tests' cache lifetime (production: TTL_SECONDS)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    from qari.web.app import create_app

    app = create_app(settings)
    app.state.session_cache = SessionCache(ttl=TTL)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c


def session_reads(app: FastAPI) -> list[str]:
    """Every statement that reads the `sessions` table, from now on."""
    seen: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM sessions" in statement:
            seen.append(statement)

    event.listen(app.state.db_engine.sync_engine, "before_cursor_execute", on_execute)
    return seen


async def test_me_when_repeated_within_ttl_then_session_row_read_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    auth = await register_and_login(client)
    reads = session_reads(app)
    for _ in range(5):
        assert (await client.get("/api/v1/me", headers=auth)).status_code == 200
        assert (await client.get("/api/v1/positions", headers=auth)).status_code == 200
    assert len(reads) == 1  # ten authenticated requests, one lookup
    await asyncio.sleep(TTL + 0.1)
    assert (await client.get("/api/v1/me", headers=auth)).status_code == 200
    assert len(reads) == 2  # the entry lived TTL seconds, then the row was read again


async def test_me_when_many_requests_miss_at_once_then_one_lookup(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """An expired entry met by a burst of one user's requests (web/single_flight.py): the first
    reads, the others wait for its entry instead of each running the same statement."""
    auth = await register_and_login(client)
    app.state.session_cache.clear()  # as when the entry's TTL ran out
    reads = session_reads(app)
    responses = await asyncio.gather(*(client.get("/api/v1/me", headers=auth) for _ in range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    assert len(reads) == 1
    assert len(app.state.session_cache.lookups) == 0  # no lock left behind


def statements(app: FastAPI) -> list[str]:
    """Every statement run on the app's database, from now on."""
    seen: list[str] = []
    event.listen(
        app.state.db_engine.sync_engine, "before_cursor_execute", lambda _c, _k, sql, *_: seen.append(sql)
    )
    return seen


async def test_me_when_session_cached_then_no_statement_and_a_writing_route_reads_the_user_afresh(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    auth = await register_and_login(client)
    assert (await client.get("/api/v1/me", headers=auth)).status_code == 200  # session now cached
    seen = statements(app)
    body = (await client.get("/api/v1/me", headers=auth)).json()
    assert body["plan"]["tier"] == "trial" and body["plan"]["active"] is True
    assert body["email"].endswith("@example.com") and body["is_operator"] is True  # the first account
    assert seen == []  # the lookup brought the user and the plan
    assert (await client.get("/api/v1/settings/risk", headers=auth)).status_code == 200
    assert any("FROM users JOIN plans" in sql for sql in seen)  # CurrentUser: read on every request


async def test_plan_change_when_account_cached_then_me_shows_it_at_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The operator's change commits a `users` row: its live event drops the user's cached entries
    in this process (and, on PostgreSQL, in every web process) before the TTL."""
    operator = await register_and_login(client)
    user = await register_and_login(client)
    me = (await client.get("/api/v1/me", headers=user)).json()
    assert me["plan"]["tier"] == "trial"  # cached now
    changed = await client.put(f"/api/v1/admin/users/{me['id']}/plan", json={"tier": "pro"}, headers=operator)
    assert changed.status_code == 200, changed.text
    assert (await client.get("/api/v1/me", headers=user)).json()["plan"]["tier"] == "pro"


async def test_logout_when_session_cached_then_refused_at_once(client: httpx.AsyncClient) -> None:
    auth = await register_and_login(client)
    assert (await client.get("/api/v1/me", headers=auth)).status_code == 200  # now cached
    assert (await client.post("/api/v1/auth/logout", headers=auth)).status_code == 204
    response = await client.get("/api/v1/me", headers=auth)
    assert response.status_code == 401
    assert "logged out" in response.json()["detail"]


async def test_password_change_when_other_session_cached_then_it_is_refused_at_once(
    client: httpx.AsyncClient,
) -> None:
    email = "pw@example.com"
    kept = await register_and_login(client, email)
    other = await register_and_login(client, email)
    assert (await client.get("/api/v1/positions", headers=other)).status_code == 200  # cached
    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": "Another-Battery-Staple-77"},
        headers=kept,
    )
    assert changed.status_code == 204, changed.text
    assert (await client.get("/api/v1/positions", headers=other)).status_code == 401
    assert (await client.get("/api/v1/me", headers=kept)).status_code == 200  # the session acted from


async def test_session_revoked_by_another_process_when_cached_then_refused_within_ttl(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Another worker (here: a second engine on the same database) deletes the row: this process serves
    the cached session for at most the TTL, then refuses it."""
    auth = await register_and_login(client)
    assert (await client.get("/api/v1/me", headers=auth)).status_code == 200  # cached
    elsewhere = make_engine(settings.resolved_database_url)
    try:
        async with transaction(make_sessionmaker(elsewhere)) as session:
            await session.execute(delete(LoginSession))
    finally:
        await elsewhere.dispose()
    revoked = asyncio.get_running_loop().time()
    while (await client.get("/api/v1/me", headers=auth)).status_code == 200:
        assert asyncio.get_running_loop().time() - revoked < TTL + 0.3, "served past the cache TTL"
        await asyncio.sleep(0.05)
    assert (await client.get("/api/v1/positions", headers=auth)).status_code == 401


async def test_session_when_expired_while_cached_then_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    auth = await register_and_login(client)
    assert (await client.get("/api/v1/me", headers=auth)).status_code == 200  # cached with its expiry
    cache: SessionCache = app.state.session_cache
    (key,) = list(cache._entries)
    entry = cache.get(key)
    assert entry is not None
    cache.put(
        key,
        CachedSession(entry.user_id, entry.csrf_token, dt.datetime(2000, 1, 1, tzinfo=dt.UTC)),
        cache.epoch,
    )
    assert (await client.get("/api/v1/me", headers=auth)).status_code == 401


def test_put_when_a_revocation_happened_during_the_lookup_then_not_stored() -> None:
    """A lookup that read the row before a logout committed must not bring the session back."""
    cache = SessionCache(ttl=60)
    entry = CachedSession(1, "csrf", dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    epoch = cache.epoch  # the lookup starts
    cache.discard("h1")  # logout commits and discards
    cache.put("h1", entry, epoch)  # the lookup ends with the row it read before
    assert cache.get("h1") is None
    cache.put("h2", entry, cache.epoch)
    cache.put("h3", CachedSession(2, "c", dt.datetime(2100, 1, 1, tzinfo=dt.UTC)), cache.epoch)
    cache.discard_user(1, keep=None)
    assert cache.get("h2") is None and cache.get("h3") is not None


@pytest.mark.postgres
async def test_database_connections_dropped_when_serving_then_503_once_and_then_served(
    pg_url: str, tmp_path: Path
) -> None:
    """The web role checks no pooled connection before use (that cost three round trips a request): a
    connection the server ended answers 503 with Retry-After, never a 500, and the pool is renewed."""
    import asyncpg

    from qari.config import load_settings
    from qari.web.app import create_app

    settings = load_settings(
        data_dir=tmp_path / "var",
        master_key_file=tmp_path / "keys" / "master.key",
        engine_mode="off",
        database_url=pg_url,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            auth = await register_and_login(client)
            # /trades reads the database on every request (/positions may answer from the read cache)
            assert (await client.get("/api/v1/trades", headers=auth)).status_code == 200
            name = pg_url.rsplit("/", 1)[1]
            admin = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
            try:
                ended = await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    name,
                )
            finally:
                await admin.close()
            assert ended >= 1
            lost = await client.get("/api/v1/trades", headers=auth)
            assert lost.status_code == 503, lost.text
            assert lost.headers["retry-after"] == "1" and "retry" in lost.json()["detail"]
            assert (await client.get("/api/v1/trades", headers=auth)).status_code == 200


def test_hub_when_events_may_be_missed_then_every_entry_goes() -> None:
    """The PostgreSQL listener reconnected (`resync_all`): what changed meanwhile is unknown."""
    from qari.adapters.events.memory import LiveEventHub
    from qari.ports import LiveEvent

    hub, cache = LiveEventHub(), SessionCache(ttl=60)
    hub.observe(cache.observe)
    entry = CachedSession(1, "csrf", dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    cache.put("h1", entry, cache.epoch)
    cache.put("h2", CachedSession(2, "c", entry.expires_at), cache.epoch)
    hub.publish(LiveEvent(1, "position"))  # not about sessions or accounts
    assert cache.get("h1") is not None
    hub.publish(LiveEvent(1, "account"))
    assert cache.get("h1") is None and cache.get("h2") is not None
    hub.resync_all()
    assert cache.get("h2") is None


@pytest.mark.postgres
async def test_logout_in_one_web_process_when_cached_in_another_then_refused_there_before_the_ttl(
    pg_url: str, tmp_path: Path
) -> None:
    """Two web processes (two apps, two pools, two listeners) on one PostgreSQL database, with a TTL
    far longer than the wait: the logout's NOTIFY reaches the other process's cache."""
    from qari.config import load_settings
    from qari.web.app import create_app

    def web_process(name: str) -> FastAPI:
        settings = load_settings(
            data_dir=tmp_path / name,
            master_key_file=tmp_path / "keys" / "master.key",
            engine_mode="off",
            database_url=pg_url,
        )
        app = create_app(settings)
        app.state.session_cache = SessionCache(ttl=600)
        return app

    first, second = web_process("a"), web_process("b")
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        a = httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://127.0.0.1")
        b = httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://127.0.0.1")
        async with a, b:
            auth = await register_and_login(a)
            assert (await b.get("/api/v1/me", headers=auth)).status_code == 200  # cached in b
            assert (await b.get("/api/v1/positions", headers=auth)).status_code == 200
            assert (await a.post("/api/v1/auth/logout", headers=auth)).status_code == 204
            loop = asyncio.get_running_loop()
            revoked = loop.time()
            while (await b.get("/api/v1/me", headers=auth)).status_code == 200:
                assert loop.time() - revoked < 5, "the other process kept serving the ended session"
                await asyncio.sleep(0.02)
            assert (await b.get("/api/v1/positions", headers=auth)).status_code == 401
