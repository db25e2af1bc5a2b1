"""`/api/v1/settings/risk` and `/api/v1/settings/data-sharing` against the real app and database."""

from __future__ import annotations

from decimal import Decimal

import httpx
from tests.helpers import register_and_login

RISK = "/api/v1/settings/risk"


async def test_get_risk_when_new_user_then_defaults_and_plan_capacity(
    client: httpx.AsyncClient,
) -> None:
    auth = await register_and_login(client)
    response = await client.get(RISK, headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert body["auto_trading"] is True
    assert body["plan_capacity"] == 5
    assert body["max_positions"] == 5
    assert body["daily_loss_limit_r"] == "2"
    assert body["weekly_loss_limit_r"] == "5"
    assert body["limits"]["stop_loss_pct"] == {"min": "10", "max": "30"}


async def test_put_risk_when_valid_then_saved_and_read_back(client: httpx.AsyncClient) -> None:
    auth = await register_and_login(client)
    update = {
        "auto_trading": False,
        "allocation_mode": "fixed",
        "allocation_value": "150.1",
        "max_positions": 3,
        "stop_loss_pct": 12.5,
        "personal_blacklist": ["doge", "PEPEUSDT"],
        "daily_loss_limit_r": "1.5",
        "weekly_loss_limit_r": "4",
        "spread_limit_bps": 20,
        "cooldown_hours": 48,
    }
    response = await client.put(RISK, json=update, headers=auth)
    assert response.status_code == 200, response.text
    again = (await client.get(RISK, headers=auth)).json()
    assert again["auto_trading"] is False
    assert again["allocation_mode"] == "fixed"
    assert Decimal(again["allocation_value"]) == Decimal("150.1")  # exact, on SQLite too
    assert again["max_positions"] == 3
    assert float(again["stop_loss_pct"]) == 12.5
    assert again["personal_blacklist"] == ["DOGE/USDT", "PEPE/USDT"]
    assert float(again["daily_loss_limit_r"]) == 1.5
    assert again["spread_limit_bps"] == 20
    assert again["cooldown_hours"] == 48


async def test_put_risk_when_bad_values_then_422_per_field_nothing_saved(
    client: httpx.AsyncClient,
) -> None:
    auth = await register_and_login(client)
    bad = {"stop_loss_pct": 5, "max_positions": 50, "daily_loss_limit_r": 3, "auto_trading": False}
    response = await client.put(RISK, json=bad, headers=auth)
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(errors) == {"stop_loss_pct", "max_positions", "daily_loss_limit_r"}
    assert "10 % and 30 %" in errors["stop_loss_pct"]
    assert "at most 5" in errors["max_positions"]
    assert "never looser" in errors["daily_loss_limit_r"]
    assert "stop_loss_pct" in response.json()["detail"]
    assert (await client.get(RISK, headers=auth)).json()["auto_trading"] is True


async def test_put_risk_when_body_not_an_object_then_4xx_with_message(client: httpx.AsyncClient) -> None:
    auth = await register_and_login(client)
    response = await client.put(RISK, content=b"[1, 2]", headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"]
    response = await client.put(
        RISK, content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 422


async def test_risk_settings_when_anonymous_then_401(client: httpx.AsyncClient) -> None:
    assert (await client.get(RISK)).status_code == 401
    assert (await client.put(RISK, json={"auto_trading": False})).status_code == 401


async def test_risk_settings_when_two_users_then_each_sees_only_their_own(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    bob = await register_and_login(client)
    await client.put(RISK, json={"cooldown_hours": 72}, headers=alice)
    assert (await client.get(RISK, headers=bob)).json()["cooldown_hours"] == 24
    assert (await client.get(RISK, headers=alice)).json()["cooldown_hours"] == 72


async def test_put_risk_when_cookie_session_without_csrf_then_403(client: httpx.AsyncClient) -> None:
    email, password = "cookie-user@example.com", "Correct-Horse-Battery-9"
    await client.post("/api/v1/auth/register", json={"email": email, "password": password})
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200
    assert (await client.put(RISK, json={"cooldown_hours": 30})).status_code == 403
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    assert (await client.put(RISK, json={"cooldown_hours": 30}, headers=csrf)).status_code == 200


async def test_data_sharing_when_consent_given_then_stored_off_by_default(client: httpx.AsyncClient) -> None:
    auth = await register_and_login(client)
    url = "/api/v1/settings/data-sharing"
    assert (await client.get(url, headers=auth)).json() == {"learning_consent": False}
    assert (await client.put(url, json={"learning_consent": True}, headers=auth)).status_code == 200
    assert (await client.get(url, headers=auth)).json() == {"learning_consent": True}
    assert (await client.put(url, json={"learning_consent": "maybe"}, headers=auth)).status_code == 422
