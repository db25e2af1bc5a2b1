"""Issue 16 item 9: security headers on every response (not only the dashboard pages), no caching of
the login reply or other per-user JSON, and `Secure` cookies whenever the client came over HTTPS."""

from __future__ import annotations

import httpx
from tests.helpers import DEFAULT_PASSWORD, register_and_login
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from qari.config import Settings

BASICS = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Content-Security-Policy")


def _assert_headers(response: httpx.Response) -> None:
    missing = [name for name in BASICS if name not in response.headers]
    assert not missing, (response.request.url, response.status_code, missing)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_every_kind_of_response_when_served_then_security_headers(client: httpx.AsyncClient) -> None:
    auth = await register_and_login(client)
    for path, status in (
        ("/healthz", 200),
        ("/openapi.json", 200),
        ("/docs", 200),
        ("/redoc", 200),
        ("/api/v1/me", 200),
        ("/api/v1/no-such-thing", 404),
        ("/api/v1/trades?offset=-1", 422),
        ("/app/overview", 200),
        ("/sandbox/bybit/admin/docs", 200),
        ("/sandbox/bybit/v5/market/time", 200),
    ):
        response = await client.get(path, headers=auth)
        assert response.status_code == status, (path, response.status_code)
        _assert_headers(response)
    me = await client.get("/api/v1/me", headers=auth)
    assert me.headers["Cache-Control"] == "no-store"
    assert me.headers["Content-Security-Policy"].startswith("default-src 'none'")
    unauthenticated = await client.get("/api/v1/me")
    assert unauthenticated.status_code == 401
    _assert_headers(unauthenticated)


async def test_login_when_answered_then_not_cacheable(client: httpx.AsyncClient) -> None:
    email = "headers@example.com"
    await register_and_login(client, email=email)
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    _assert_headers(response)


def _cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


async def _login(app: object, *, base_url: str, client_host: str, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(client_host, 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        email = "cookie@example.com"
        body = {"email": email, "password": DEFAULT_PASSWORD}
        await http.post("/api/v1/auth/register", json=body, headers=headers)
        return await http.post("/api/v1/auth/login", json=body, headers=headers)


async def test_cookies_when_https_from_trusted_proxy_then_secure_else_not(settings: Settings) -> None:
    from qari.web.app import create_app

    app = create_app(settings)
    # What `qari serve` runs: uvicorn trusts X-Forwarded-Proto only from FORWARDED_ALLOW_IPS.
    served = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"}
    async with app.router.lifespan_context(app):
        behind_proxy = await _login(
            served, base_url="http://127.0.0.1", client_host="127.0.0.1", headers=forwarded
        )
        assert behind_proxy.status_code == 200
        assert all("secure" in cookie.lower().split("; ") for cookie in _cookies(behind_proxy))
        assert behind_proxy.headers["Strict-Transport-Security"].startswith("max-age=")
        direct_tls = await _login(served, base_url="https://127.0.0.1", client_host="127.0.0.1", headers={})
        assert all("secure" in cookie.lower().split("; ") for cookie in _cookies(direct_tls))
        spoofed = await _login(
            served, base_url="http://127.0.0.1", client_host="203.0.113.9", headers=forwarded
        )
        assert spoofed.status_code == 200
        assert _cookies(spoofed)
        assert not any("secure" in cookie.lower().split("; ") for cookie in _cookies(spoofed))
        assert "Strict-Transport-Security" not in spoofed.headers


async def test_cookies_when_forced_by_setting_then_secure_over_plain_http(settings: Settings) -> None:
    from qari.web.app import create_app

    app = create_app(settings.model_copy(update={"cookie_secure": True}))
    async with app.router.lifespan_context(app):
        response = await _login(app, base_url="http://127.0.0.1", client_host="127.0.0.1", headers={})
        assert response.status_code == 200
        assert all("secure" in cookie.lower().split("; ") for cookie in _cookies(response))
