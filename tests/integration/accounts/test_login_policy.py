from __future__ import annotations

import datetime as dt

import httpx
import pyotp
import pytest
from tests.helpers import DEFAULT_PASSWORD, register_and_login

from qari.core.clocks import ManualClock

LOGIN = "/api/v1/auth/login"


async def _login(client: httpx.AsyncClient, email: str, password: str, **extra: str) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password, **extra})


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Short1!", "at least 12 characters"),
        ("alllowercaseletters", "mix at least three"),
        ("Xx1!alice-in-wonder", "e-mail name"),
        ("Aa1!Aa1!Aa1!Aa1!", "more different characters"),
    ],
)
async def test_register_when_weak_password_then_422_says_what_to_change(
    timed_client: httpx.AsyncClient, password: str, reason: str
) -> None:
    response = await timed_client.post(
        "/api/v1/auth/register", json={"email": "alice-in@example.com", "password": password}
    )
    assert response.status_code == 422
    assert reason in response.json()["detail"]
    assert password not in response.text


async def test_register_when_email_invalid_then_422(timed_client: httpx.AsyncClient) -> None:
    bad = await timed_client.post(
        "/api/v1/auth/register", json={"email": "not-an-email", "password": DEFAULT_PASSWORD}
    )
    assert bad.status_code == 422 and "valid e-mail" in bad.json()["detail"]


async def test_login_when_wrong_password_or_unknown_email_then_same_401(
    timed_client: httpx.AsyncClient,
) -> None:
    await register_and_login(timed_client, "w@example.com")
    wrong = await _login(timed_client, "w@example.com", "Wrong-password-123")
    unknown = await _login(timed_client, "nobody@example.com", "Wrong-password-123")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "qari_session" not in wrong.headers.get("set-cookie", "")


async def test_login_when_five_failures_then_this_client_waits_with_doubling_retry_after(
    timed_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await register_and_login(timed_client, "lock@example.com")
    for _ in range(5):
        assert (await _login(timed_client, "lock@example.com", "Wrong-password-123")).status_code == 401
        clock.advance(dt.timedelta(seconds=10))
    waits = []
    for _ in range(3):
        locked = await _login(timed_client, "lock@example.com", DEFAULT_PASSWORD)
        assert locked.status_code == 429
        retry_after = int(locked.headers["Retry-After"])
        assert f"{retry_after} seconds" in locked.json()["detail"]
        waits.append(retry_after)
        clock.advance(dt.timedelta(seconds=retry_after))
        assert (await _login(timed_client, "lock@example.com", "Wrong-password-123")).status_code == 401
    assert waits[0] <= 30 and waits[1] == 61 and waits[2] == 121  # back-off doubles per failure
    clock.advance(dt.timedelta(minutes=4, seconds=1))
    assert (await _login(timed_client, "lock@example.com", DEFAULT_PASSWORD)).status_code == 200


async def test_login_when_totp_enabled_then_code_required_and_checked(
    timed_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    headers = await register_and_login(timed_client, "totp@example.com")
    setup = await timed_client.post("/api/v1/auth/totp/setup", headers=headers)
    assert setup.status_code == 200
    seed = setup.json()["secret"]
    assert setup.json()["otpauth_uri"].startswith("otpauth://totp/")
    code = pyotp.TOTP(seed).at(clock.now())
    wrong_enable = await timed_client.post(
        "/api/v1/auth/totp/enable", headers=headers, json={"code": "000000"}
    )
    assert wrong_enable.status_code == 422
    assert (
        await timed_client.post("/api/v1/auth/totp/enable", headers=headers, json={"code": code})
    ).status_code == 204

    missing = await _login(timed_client, "totp@example.com", DEFAULT_PASSWORD)
    assert missing.status_code == 401 and "two-factor code required" in missing.json()["detail"]
    assert missing.json()["code"] == "totp_required"
    wrong = await _login(timed_client, "totp@example.com", DEFAULT_PASSWORD, totp_code="123456")
    assert wrong.status_code == 401
    clock.advance(dt.timedelta(seconds=60))
    fresh = pyotp.TOTP(seed).at(clock.now())
    ok = await _login(timed_client, "totp@example.com", DEFAULT_PASSWORD, totp_code=fresh)
    assert ok.status_code == 200
    replay = await _login(timed_client, "totp@example.com", DEFAULT_PASSWORD, totp_code=fresh)
    assert replay.status_code == 401  # a code works once
    clock.advance(dt.timedelta(seconds=30))
    me = await timed_client.get("/api/v1/me", headers=headers)
    assert me.json()["totp_enabled"] is True
    assert seed not in me.text

    disable = await timed_client.post(
        "/api/v1/auth/totp/disable",
        headers=headers,
        json={"password": DEFAULT_PASSWORD, "code": pyotp.TOTP(seed).at(clock.now())},
    )
    assert disable.status_code == 204
    assert (await _login(timed_client, "totp@example.com", DEFAULT_PASSWORD)).status_code == 200


async def test_password_change_when_valid_then_other_sessions_end_and_new_password_works(
    timed_client: httpx.AsyncClient,
) -> None:
    a = await register_and_login(timed_client, "pw@example.com")
    b = await register_and_login(timed_client, "pw@example.com")
    new = "Another-Good-Pass-42"
    wrong = await timed_client.post(
        "/api/v1/auth/password", headers=a, json={"current_password": "Nope-nope-123", "new_password": new}
    )
    weak = await timed_client.post(
        "/api/v1/auth/password",
        headers=a,
        json={"current_password": DEFAULT_PASSWORD, "new_password": "short"},
    )
    ok = await timed_client.post(
        "/api/v1/auth/password", headers=a, json={"current_password": DEFAULT_PASSWORD, "new_password": new}
    )
    assert wrong.status_code == 403 and "current password" in wrong.json()["detail"]
    assert weak.status_code == 422 and "at least 12" in weak.json()["detail"]
    assert ok.status_code == 204
    assert (await timed_client.get("/api/v1/me", headers=a)).status_code == 200
    assert (await timed_client.get("/api/v1/me", headers=b)).status_code == 401
    assert (await _login(timed_client, "pw@example.com", DEFAULT_PASSWORD)).status_code == 401
    assert (await _login(timed_client, "pw@example.com", new)).status_code == 200


async def test_session_when_ttl_passed_then_401(timed_client: httpx.AsyncClient, clock: ManualClock) -> None:
    headers = await register_and_login(timed_client, "ttl@example.com")
    clock.advance(dt.timedelta(days=8))
    response = await timed_client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and "log in again" in response.json()["detail"]


async def test_bearer_when_malformed_header_then_401(timed_client: httpx.AsyncClient) -> None:
    response = await timed_client.get("/api/v1/me", headers={"Authorization": "Token abc"})
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]
