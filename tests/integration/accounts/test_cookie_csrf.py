from __future__ import annotations

import httpx
from tests.helpers import DEFAULT_PASSWORD


async def _cookie_login(client: httpx.AsyncClient, email: str = "c@example.com") -> dict[str, str]:
    await client.post("/api/v1/auth/register", json={"email": email, "password": DEFAULT_PASSWORD})
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    return response.json()


async def test_login_when_ok_then_httponly_samesite_cookie_and_bearer_token(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/auth/register", json={"email": "c@example.com", "password": DEFAULT_PASSWORD})
    response = await client.post(
        "/api/v1/auth/login", json={"email": "c@example.com", "password": DEFAULT_PASSWORD}
    )
    body = response.json()
    assert body["token_type"] == "bearer" and body["access_token"]
    set_cookie = ";".join(response.headers.get_list("set-cookie")).lower()
    assert "qari_session=" in set_cookie and "httponly" in set_cookie and "samesite=lax" in set_cookie
    assert (await client.get("/api/v1/me")).status_code == 200  # cookie access


async def test_cookie_unsafe_request_when_csrf_header_missing_then_403(client: httpx.AsyncClient) -> None:
    await _cookie_login(client)
    response = await client.post("/api/v1/auth/logout")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


async def test_cookie_unsafe_request_when_csrf_header_matches_then_allowed(client: httpx.AsyncClient) -> None:
    body = await _cookie_login(client)
    response = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]})
    assert response.status_code == 204
    assert (
        await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    ).status_code == 401


async def test_bearer_unsafe_request_when_no_csrf_header_then_allowed(client: httpx.AsyncClient) -> None:
    body = await _cookie_login(client)
    client.cookies.clear()
    response = await client.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == 204
