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
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

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


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"}},
)
async def stream_events(
    request: Request,
    interval: Annotated[float, Query(ge=0.2, le=60, description="Seconds between checks")] = 3.0,
) -> StreamingResponse:
    """Stream `change` events for the caller's dashboard resources (see the module docstring)."""
    credentials = _credentials(request)
    transport = httpx.ASGITransport(app=request.app, client=("127.0.0.1", 0))
    client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=credentials)
    me = await client.get("/api/v1/me")
    if me.status_code != 200:
        await client.aclose()
        raise HTTPException(401, "log in to receive live updates")

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in _changes(request, client, interval):
                yield chunk
        finally:
            await client.aclose()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)
