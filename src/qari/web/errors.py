"""Global error handling: every bad request gets a 4xx JSON `{"detail": ...}` that says what to fix;
unexpected failures get a bare 500 without exception text (it could carry secrets)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qari.logging import get_logger, mask_in_request, request_secret_scope
from qari.services.errors import ServiceError
from qari.web.headers import API_POLICY, COMMON

log = get_logger(__name__)


class FieldProblem(BaseModel):
    field: str = Field(description="the request field, dotted (`body` for the whole body)")
    message: str
    type: str | None = None


class ErrorBody(BaseModel):
    """Every refused or failed request answers this shape (some add fields, e.g. a key check's result)."""

    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="what went wrong and what to do about it, in one sentence")
    errors: list[FieldProblem] | None = Field(None, description="422 only: one entry per bad field")
    code: str | None = Field(
        None,
        description="why, where a client acts on it (login: wrong_credentials, totp_required, totp_invalid)",
    )


# Declared on every operation (the app's default responses), so the OpenAPI schema tells the truth about
# error bodies; FastAPI's own 422 model (a list in `detail`) is never what QARI answers.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "Refused: `detail` says why and what to change"},
    "5XX": {"model": ErrorBody, "description": "Server-side failure or an unreachable dependency"},
}


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


def _describe(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        return "body is not valid JSON: " + str(error.get("ctx", {}).get("error", "check the syntax"))
    if error.get("type") == "missing" and not [p for p in error.get("loc", ()) if p != "body"]:
        return "body: a JSON object is required"
    return f"{_field(error.get('loc', ()))}: {error.get('msg', 'invalid value')}"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        body = {"detail": exc.message} if exc.code is None else {"detail": exc.message, "code": exc.code}
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The submitted values are never echoed back: they may hold passwords or API secrets.
        errors = [
            {
                "field": _field(e.get("loc", ())),
                "message": e.get("msg", "invalid value"),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(_describe(e) for e in exc.errors()[:5]) or "invalid request"
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    @app.exception_handler(DBAPIError)
    async def _data_error(request: Request, exc: DBAPIError) -> JSONResponse:
        # A value the database will not store (a NUL character or an integer out of range on
        # PostgreSQL: SQLSTATE class 22, "data exception") that no validation caught: the client's
        # fault, said without the value. Any other database error stays a 500.
        if exc.connection_invalidated:
            # The server closed this pooled connection (restarted, or ended the session): SQLAlchemy has
            # dropped the pool's connections, so a retry gets a fresh one. The web role checks no
            # connection before use (runtime.started), so this is how it learns of a restart.
            log.warning("database connection lost on %s %s", request.method, request.url.path)
            return JSONResponse(
                {"detail": "the database connection was lost; retry"}, 503, headers={"Retry-After": "1"}
            )
        if not str(getattr(exc.orig, "sqlstate", None) or "").startswith("22"):
            raise exc
        log.warning(
            "database refused a value on %s %s (%s)",
            request.method,
            request.url.path,
            type(exc.orig).__name__,
        )
        detail = "a value is out of range or holds a character that cannot be stored (such as NUL)"
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if not getattr(exc, "_qari_logged", False):  # RegisterBodySecrets logs it inside the request
            log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        # Sent by the outermost Starlette layer, past SecurityHeaders: the headers go on here.
        headers = {**COMMON, "Content-Security-Policy": API_POLICY, "Cache-Control": "no-store"}
        detail = "internal error; the operator can find details in the server log"
        return JSONResponse({"detail": detail}, 500, headers=headers)


class BodySizeLimit:
    """Refuses request bodies larger than `max_bytes` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await self._reply(send, 400, "Content-Length header is not a number")
                return
            if too_big:
                await self._reply(send, 413, self._message())
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(413, self._message())
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reply(send, 413, self._message())

    def _message(self) -> str:
        return f"request body too large: the limit is {self.max_bytes} bytes"

    @staticmethod
    async def _reply(send: Send, status: int, detail: str) -> None:
        response = JSONResponse({"detail": detail}, status_code=status)
        body = response.body
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(StarletteHTTPException):
    """Raised from inside the body stream; FastAPI passes HTTP exceptions through to the handler."""


_SECRET_FIELDS = frozenset(
    {
        "password",
        "current_password",
        "new_password",
        "secret",
        "api_secret",
        "secret_key",
        "passphrase",
        "totp_code",
    }
)
_MAX_SCANNED_BODY = 64 * 1024


def _register_fields(value: object) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and str(key).lower() in _SECRET_FIELDS:
                mask_in_request(item)
            else:
                _register_fields(item)
    elif isinstance(value, list):
        for item in value:
            _register_fields(item)


class RegisterBodySecrets:
    """Masks secret-named JSON fields of a request (passwords, API secrets, passphrases) in the log
    records of that request only, from the moment they arrive, before any code could log them.

    Unhandled errors are logged here, still inside the request's masking scope (the 500 handler runs
    outside every middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with request_secret_scope():
            try:
                await self._call(scope, receive, send)
            except Exception as exc:
                log.error("unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
                with contextlib.suppress(AttributeError):
                    exc._qari_logged = True  # type: ignore[attr-defined]
                raise

    async def _call(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0

        async def scanning_receive() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request" and size <= _MAX_SCANNED_BODY:
                body = message.get("body", b"")
                size += len(body)
                chunks.append(body)
                if not message.get("more_body", False) and size <= _MAX_SCANNED_BODY:
                    # Not JSON: the route answers 422 and there is nothing to register.
                    with contextlib.suppress(ValueError, RecursionError):
                        _register_fields(json.loads(b"".join(chunks)))
            return message

        await self.app(scope, scanning_receive, send)
