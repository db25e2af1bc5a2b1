"""Issue 16 items 5 and 8: the lockout cannot be used to lock an owner out, login and registration do
not tell who has an account, weak passwords and hostile e-mails are refused, and TOTP set-up is
atomic and ends the user's other sessions."""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from tests.helpers import DEFAULT_PASSWORD, register_and_login

from qari.adapters.persistence.tables.accounts import User, VaultSecret
from qari.config import Settings, load_settings
from qari.core.clocks import ManualClock
from qari.services import credentials

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
WRONG = {"detail": "wrong e-mail or password", "code": "wrong_credentials"}

ClientAt = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[FastAPI]:
    from qari.web.app import create_app

    application = create_app(settings)
    application.state.clock = clock
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def client_at(app: FastAPI) -> ClientAt:
    """A client connecting from the given address (the lockout keys on it)."""

    @asynccontextmanager
    async def make(ip: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, client=(ip, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            yield c

    return make


async def _login(client: httpx.AsyncClient, email: str, password: str, **extra: str) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password, **extra})


async def _enable_totp(client: httpx.AsyncClient, headers: dict[str, str], clock: ManualClock) -> str:
    seed: str = (await client.post("/api/v1/auth/totp/setup", headers=headers)).json()["secret"]
    code = pyotp.TOTP(seed).at(clock.now())
    assert (
        await client.post("/api/v1/auth/totp/enable", headers=headers, json={"code": code})
    ).status_code == 204
    clock.advance(dt.timedelta(seconds=30))  # the next login needs a code of a later time step
    return seed


async def test_login_when_attacker_fails_from_elsewhere_then_owner_still_logs_in(
    client_at: ClientAt, clock: ManualClock
) -> None:
    async with client_at("198.51.100.10") as owner, client_at("203.0.113.66") as attacker:
        await register_and_login(owner, "victim@example.com")
        for _ in range(12):
            answer = await _login(attacker, "victim@example.com", "Guess-password-123")
            assert answer.status_code in (401, 429)
            clock.advance(dt.timedelta(seconds=5))
        assert (await _login(attacker, "victim@example.com", DEFAULT_PASSWORD)).status_code == 429
        assert (await _login(owner, "victim@example.com", DEFAULT_PASSWORD)).status_code == 200


async def test_login_when_client_locked_then_right_password_plus_second_factor_get_through(
    client_at: ClientAt, clock: ManualClock
) -> None:
    async with client_at("198.51.100.20") as c:
        headers = await register_and_login(c, "shared-nat@example.com")
        seed = await _enable_totp(c, headers, clock)
        for _ in range(8):
            await _login(c, "shared-nat@example.com", "Guess-password-123")
        code = pyotp.TOTP(seed).at(clock.now())
        locked = await _login(c, "shared-nat@example.com", DEFAULT_PASSWORD)
        guessed = await _login(c, "shared-nat@example.com", "Guess-password-123", totp_code=code)
        assert locked.status_code == guessed.status_code == 429  # no code / wrong password: still locked
        assert locked.json() == guessed.json()
        through = await _login(c, "shared-nat@example.com", DEFAULT_PASSWORD, totp_code=code)
        assert through.status_code == 200, through.text


async def test_login_when_wrong_then_only_wrong_email_or_password_and_code_asked_after_right_password(
    client_at: ClientAt, clock: ManualClock
) -> None:
    async with client_at("198.51.100.30") as c:
        headers = await register_and_login(c, "twofa@example.com")
        seed = await _enable_totp(c, headers, clock)
        unknown = await _login(c, "nobody@example.com", "Guess-password-123")
        wrong = await _login(c, "twofa@example.com", "Guess-password-123")
        wrong_with_code = await _login(
            c, "twofa@example.com", "Guess-password-123", totp_code=pyotp.TOTP(seed).at(clock.now())
        )
        for answer in (unknown, wrong, wrong_with_code):
            assert (answer.status_code, answer.json()) == (401, WRONG)
        asked = await _login(c, "twofa@example.com", DEFAULT_PASSWORD)
        assert asked.status_code == 401 and asked.json()["code"] == "totp_required"
        bad_code = await _login(c, "twofa@example.com", DEFAULT_PASSWORD, totp_code="000000")
        assert bad_code.status_code == 401 and bad_code.json()["code"] == "totp_invalid"


async def test_register_when_email_exists_then_same_answer_after_the_same_hashing(
    client_at: ClientAt,
) -> None:
    async with client_at("198.51.100.40") as c:
        await register_and_login(c, "taken@example.com")
        credentials.set_hash_cost(time_cost=2, memory_kib=32 * 1024, parallelism=1)  # tens of ms a hash
        try:
            times: dict[str, list[float]] = {"new": [], "taken": []}
            answers = []
            for i in range(4):
                for kind, email in (("new", f"fresh-{i}@example.com"), ("taken", "taken@example.com")):
                    started = time.perf_counter()
                    answer = await c.post(REGISTER, json={"email": email, "password": "Another-Good-Pass-42"})
                    times[kind].append(time.perf_counter() - started)
                    answers.append((answer.status_code, answer.json()))
        finally:
            credentials.set_hash_cost(time_cost=1, memory_kib=1024, parallelism=1)
        assert len(set(map(str, answers))) == 1 and answers[0][0] == 202
        new, taken = statistics.median(times["new"]), statistics.median(times["taken"])
        assert taken > 0.6 * new, f"an existing e-mail answered in {taken:.3f} s, a new one in {new:.3f} s"
        # The existing account kept its password; the second registration changed nothing.
        assert (await _login(c, "taken@example.com", DEFAULT_PASSWORD)).status_code == 200
        assert (await _login(c, "taken@example.com", "Another-Good-Pass-42")).status_code == 401


@pytest.mark.parametrize("password", ["Password1234", "P@ssw0rd2024", "Qwerty123456!"])
async def test_register_when_common_password_then_422_naming_the_rule(
    client_at: ClientAt, password: str
) -> None:
    async with client_at("198.51.100.50") as c:
        answer = await c.post(REGISTER, json={"email": "weak@example.com", "password": password})
    assert answer.status_code == 422
    assert "less guessable" in answer.json()["detail"]
    assert password not in answer.text


@pytest.mark.parametrize(
    "email", ["a\x00b@example.com", "<script>alert(1)</script>@example.com", "x@exa<script>mple.com"]
)
async def test_register_when_email_has_nul_or_markup_then_422(client_at: ClientAt, email: str) -> None:
    async with client_at("198.51.100.60") as c:
        answer = await c.post(REGISTER, json={"email": email, "password": DEFAULT_PASSWORD})
        assert answer.status_code == 422
        assert "valid e-mail" in answer.json()["detail"]
        login = await _login(c, email, DEFAULT_PASSWORD)
        assert login.status_code in (401, 422)


async def test_totp_enable_when_other_sessions_then_they_end(client_at: ClientAt, clock: ManualClock) -> None:
    async with client_at("198.51.100.70") as c:
        here = await register_and_login(c, "sessions@example.com")
        elsewhere = await register_and_login(c, "sessions@example.com")
        await _enable_totp(c, here, clock)
        assert (await c.get("/api/v1/me", headers=here)).status_code == 200
        assert (await c.get("/api/v1/me", headers=elsewhere)).status_code == 401


async def test_totp_setup_when_concurrent_then_one_pending_seed_and_no_5xx(
    database_url: str, tmp_path: Path
) -> None:
    from qari.web.app import create_app

    settings = load_settings(
        data_dir=tmp_path / "var",
        master_key_file=tmp_path / "keys" / "master.key",
        database_url=database_url,
        engine_mode="off",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            headers = await register_and_login(c, "race@example.com")
            answers = await asyncio.gather(
                *(c.post("/api/v1/auth/totp/setup", headers=headers) for _ in range(8))
            )
        assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers]
        assert any(a.status_code == 200 for a in answers)
        async with app.state.sessions() as session:
            user = await session.scalar(select(User).where(User.email == "race@example.com"))
            assert user is not None
            seeds = await session.scalar(
                select(func.count()).select_from(VaultSecret).where(VaultSecret.purpose == "totp")
            )
            assert seeds == 1 and user.totp_secret_id is not None
