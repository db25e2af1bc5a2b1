"""Security headers on every response the process sends: the API's JSON, `/docs`, the dashboard,
the mounted sandbox and its docs, and error replies. A header a route set itself (the dashboard's
page policy, the event stream's `Cache-Control`) is kept.

Whether the client reached us over HTTPS is the request's scheme: uvicorn takes it from
`X-Forwarded-Proto` only when the proxy's address is in `FORWARDED_ALLOW_IPS` (default 127.0.0.1),
so a client cannot claim it.
"""

from __future__ import annotations

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


_COMMON_RAW = [(name.lower().encode(), value.encode()) for name, value in COMMON.items()]
_CSP, _CACHE_CONTROL, _HSTS = b"content-security-policy", b"cache-control", b"strict-transport-security"
_CONTENT_TYPE = b"content-type"
_API_POLICY, _DOCS_POLICY, _NO_STORE = API_POLICY.encode(), DOCS_POLICY.encode(), b"no-store"


class SecurityHeaders:
    """Pure ASGI (streams such as server-sent events pass through untouched). Works on the raw header
    list: it runs on every response, so it adds what is missing without parsing the headers twice."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope.get("path", "").startswith("/api/")
        https = is_https(scope)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in _COMMON_RAW if name not in present]
                if _CSP not in present:
                    html = any(n.lower() == _CONTENT_TYPE and v.startswith(b"text/html") for n, v in headers)
                    headers.append((_CSP, _DOCS_POLICY if html else _API_POLICY))
                if api and _CACHE_CONTROL not in present:
                    # Per-user data: never kept by browsers or shared caches (login tokens included).
                    headers.append((_CACHE_CONTROL, _NO_STORE))
                if https and _HSTS not in present:
                    headers.append((_HSTS, HSTS.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
