from __future__ import annotations

import httpx
from tests.helpers import DEFAULT_PASSWORD, register_and_login


async def test_register_when_first_account_then_operator_and_trial_plan(client: httpx.AsyncClient) -> None:
    first = await client.post(
        "/api/v1/auth/register", json={"email": "Op@Example.com", "password": DEFAULT_PASSWORD}
    )
    assert first.status_code == 202, first.text
    op = (await client.get("/api/v1/me", headers=await register_and_login(client, "op@example.com"))).json()
    user = (await client.get("/api/v1/me", headers=await register_and_login(client, "u@example.com"))).json()
    assert op["is_operator"] is True
    assert op["email"] == "op@example.com"
    assert user["is_operator"] is False
    assert user["plan"]["tier"] == "trial"
    assert user["plan"]["capacity"] == 5
    assert DEFAULT_PASSWORD not in first.text


async def test_me_when_bearer_token_then_own_account(client: httpx.AsyncClient) -> None:
    headers = await register_and_login(client, "me@example.com")
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200
    assert response.json()["email"] == "me@example.com"
    assert response.json()["plan"]["active"] is True


async def test_me_when_no_credentials_then_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert "log in" in response.json()["detail"]
