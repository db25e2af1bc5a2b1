"""Security headers on every response the process sends: the API's JSON, `/docs`, the dashboard,
the mounted sandbox and its docs, and error replies. A header a route set itself (the dashboard's
page policy, the event stream's `Cache-Control`) is kept.

Whether the client reached us over HTTPS is the request's scheme: uvicorn takes it from
`X-Forwarded-Proto` only when the proxy's address is in `FORWARDED_ALLOW_IPS` (default 127.0.0.1),
so a client cannot claim it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qari.config import Settings

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# JSON and other non-page responses: nothing may run or be framed.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# FastAPI's Swagger UI / ReDoc pages load their bundle from jsDelivr and start it with an inline script.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
HSTS = "max-age=31536000"


def is_https(scope: Scope) -> bool:
    return scope.get("scheme") in ("https", "wss")


def cookies_secure(connection: HTTPConnection, settings: Settings) -> bool:
    """`Secure` cookies whenever the client came over HTTPS; `QARI_COOKIE_SECURE=true` forces them."""
    return settings.cookie_secure or is_https(connection.scope)


class SecurityHeaders:
    """Pure ASGI (streams such as server-sent events pass through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = is_https(scope)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers.setdefault(name, value)
                is_html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault("Content-Security-Policy", DOCS_POLICY if is_html else API_POLICY)
                if path.startswith("/api/"):
                    # Per-user data: never kept by browsers or shared caches (login tokens included).
                    headers.setdefault("Cache-Control", "no-store")
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, with_headers)
