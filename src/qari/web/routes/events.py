"""Live updates for the dashboard: `GET /api/v1/events/stream` (server-sent events).

The stream watches the same documented `/api/v1` resources the pages read, with the caller's own
credentials, and sends a `change` event whenever one of them differs from what it sent last:

    event: change
    data: {"resource": "trades", "data": <the resource's JSON, as GET returns it>}

Resources: `connections`, `positions`, `trades`, `r_tracker`, `portfolio`, `engine`, `scan`,
`gate_evaluations`, `risk_settings`, `telegram`. A resource the server does not offer is left out.
Reading through the API (not the tables) keeps the stream correct whatever module owns the data, and
means it can only ever show a user what that user may GET. A comment line is sent every 15 s so
proxies keep the connection open.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Annotated

import httpx
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from qari.services.errors import ServiceError
from qari.web.deps import request_token

router = APIRouter(prefix="/events", tags=["events"])

WATCHED: dict[str, str] = {
    "connections": "/api/v1/exchange/connections",
    "positions": "/api/v1/positions",
    "trades": "/api/v1/trades",
    "r_tracker": "/api/v1/r-tracker",
    "portfolio": "/api/v1/portfolio",
    "engine": "/api/v1/engine/state",
    "scan": "/api/v1/scans/latest",
    "gate_evaluations": "/api/v1/gate-evaluations",
    "risk_settings": "/api/v1/settings/risk",
    "telegram": "/api/v1/notifications/telegram",
}
FORWARDED_HEADERS = ("cookie", "authorization")
HEARTBEAT_SECONDS = 15.0


def _credentials(request: Request) -> dict[str, str]:
    return {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}


VOLATILE = frozenset({"as_of", "now"})


def _digest(body: object) -> str:
    """A fingerprint of a resource that ignores its clock fields, so only real changes are sent."""
    if isinstance(body, dict):
        body = {key: value for key, value in body.items() if key not in VOLATILE}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _event(name: str, payload: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


async def _changes(request: Request, client: httpx.AsyncClient, interval: float) -> AsyncIterator[bytes]:
    seen: dict[str, str] = {}
    missing: set[str] = set()
    yield b"retry: 3000\n\n"
    yield _event("ready", {"resources": sorted(WATCHED)})
    quiet = 0.0
    first = True
    while not await request.is_disconnected():
        sent = False
        for resource, path in WATCHED.items():
            if resource in missing:
                continue
            response = await client.get(path)
            if response.status_code in (404, 405):
                missing.add(resource)
                continue
            if response.status_code == 401:
                yield _event("logged_out", {})
                return
            if response.status_code != 200:
                continue
            digest = _digest(response.json())
            if seen.get(resource) != digest:
                changed = resource in seen or not first
                seen[resource] = digest
                if changed:
                    yield _event("change", {"resource": resource, "data": response.json()})
                    sent = True
        first = False
        quiet = 0.0 if sent else quiet + interval
        if quiet >= HEARTBEAT_SECONDS:
            quiet = 0.0
            yield b": keep-alive\n\n"
        await asyncio.sleep(interval)


def _open_streams(request: Request) -> Counter[str]:
    """Open streams per login session (by token digest), for this process."""
    state = request.app.state
    if not hasattr(state, "event_streams"):
        state.event_streams = Counter()
    streams: Counter[str] = state.event_streams
    return streams


class _CountedStream(StreamingResponse):
    """Gives its session's slot back however the stream ends (client gone, cancelled, error)."""

    def __init__(
        self, content: AsyncIterator[bytes], *, headers: dict[str, str], release: Callable[[], None]
    ) -> None:
        super().__init__(content, media_type="text/event-stream", headers=headers)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"},
        429: {"description": "this session already has the most live streams allowed open"},
    },
)
async def stream_events(
    request: Request,
    interval: Annotated[float, Query(ge=0.2, le=60, description="Seconds between checks")] = 3.0,
) -> StreamingResponse:
    """Stream `change` events for the caller's dashboard resources (see the module docstring).

    Each login session may hold `QARI_EVENT_STREAMS_PER_SESSION` streams (default 3) at once: every
    stream polls the API, so unlimited streams would let one user load the server at will."""
    credentials = _credentials(request)
    transport = httpx.ASGITransport(app=request.app, client=("127.0.0.1", 0))
    client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=credentials)
    me = await client.get("/api/v1/me")
    if me.status_code != 200:
        await client.aclose()
        raise HTTPException(401, "log in to receive live updates")
    token, _ = request_token(request)
    session_key = hashlib.sha256((token or "").encode()).hexdigest()
    streams = _open_streams(request)
    allowed = request.app.state.settings.event_streams_per_session
    if streams[session_key] >= allowed:
        await client.aclose()
        raise ServiceError(
            429, f"this session already has {allowed} live-update streams open; close one (another tab) first"
        )
    streams[session_key] += 1

    def release() -> None:
        streams[session_key] -= 1
        if streams[session_key] <= 0:
            del streams[session_key]

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in _changes(request, client, interval):
                yield chunk
        finally:
            await client.aclose()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return _CountedStream(body(), headers=headers, release=release)
