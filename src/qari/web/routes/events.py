"""Live updates for the dashboard: `GET /api/v1/events/stream` (server-sent events).

Nothing polls. The engine and the services note an event beside each write a user sees
(`adapters/persistence/live.py`); it is published when the write commits — in this process, or over
PostgreSQL NOTIFY from a `qari worker` / `qari scheduler` — and this endpoint forwards the caller's
own events (never another user's) as they come:

    event: ready
    data: {"resources": {"trades": "/trades", ...}}        the dashboard resources and their GET paths
    event: change
    data: {"type": "order", "ids": {"position_id": 7, "order_id": 9}, "resources": ["positions", ...]}

A `change` names what changed and the resources that show it; the client refetches those (so the
stream carries no data a GET would not give that user). `type` `resync` (the subscriber fell behind,
or the cross-process listener reconnected) names every resource.

One stream per login session: a new stream for the same session *replaces* the older one, which gets
`event: replaced` and ends (the tab in front takes the stream over; a tab told `replaced` does not
reconnect by itself). A comment line is sent every `keepalive` seconds so proxies keep the connection,
and the session is checked then: a logged-out or expired session gets `event: logged_out` and the
stream ends (at once when the logout is by `POST /auth/logout`, which publishes a `session` event).
The one-per-session rule holds per web process (several `qari web` behind a balancer keep one each).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from qari.ports import LiveEvent, LiveEventFeed
from qari.services import accounts
from qari.web.deps import request_token

router = APIRouter(prefix="/events", tags=["events"])

RESOURCES: dict[str, str] = {
    "connections": "/exchange/connections",
    "positions": "/positions",
    "trades": "/trades",
    "r_tracker": "/r-tracker",
    "portfolio": "/portfolio",
    "engine": "/engine/state",
    "scan": "/scans/latest",
    "gate_evaluations": "/gate-evaluations",
    "risk_settings": "/settings/risk",
    "telegram": "/notifications/telegram",
}
_TRADING = ("positions", "trades", "r_tracker", "portfolio")
SHOWN_IN: dict[str, tuple[str, ...]] = {
    "position": _TRADING,
    "order": _TRADING,
    "fill": _TRADING,
    "gate_evaluation": ("gate_evaluations",),
    "scan": ("scan", "gate_evaluations"),
    "connection": ("connections", "portfolio", "engine"),
    "risk_settings": ("risk_settings", "engine"),
    "telegram": ("telegram",),
    "alert": ("engine", "r_tracker"),
    "engine": ("engine",),
    "account": ("risk_settings", "engine"),
    "resync": tuple(RESOURCES),
}
SESSION_EVENT = "session"  # a login of the user ended: check ours (never forwarded)
DEFAULT_KEEPALIVE = 15.0


def _event(name: str, payload: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def change_message(event: LiveEvent) -> bytes | None:
    """The SSE frame for `event`, or None when it is not a dashboard change."""
    shown = SHOWN_IN.get(event.type)
    if shown is None:
        return None
    return _event("change", {"type": event.type, "ids": dict(event.ids), "resources": list(shown)})


async def _user_of(request: Request, token: str) -> int | None:
    async with request.app.state.sessions() as session:
        found = await accounts.resolve_session(session, token, now=request.app.state.clock.now())
    return None if found is None else found[0].id


def _streams(request: Request) -> dict[str, asyncio.Event]:
    """This process's open stream per login session (token digest) -> its `replaced` signal."""
    state = request.app.state
    if not hasattr(state, "live_streams"):
        state.live_streams = {}
    streams: dict[str, asyncio.Event] = state.live_streams
    return streams


async def _forward(
    request: Request,
    feed: LiveEventFeed,
    user_id: int,
    token: str,
    replaced: asyncio.Event,
    keepalive: float,
) -> AsyncIterator[bytes]:
    yield b"retry: 3000\n\n"
    async with feed.subscribe(user_id) as subscription:
        yield _event("ready", {"resources": RESOURCES})  # subscribed first: nothing after it is missed
        told = asyncio.create_task(replaced.wait())
        arrived = asyncio.create_task(subscription.get())
        try:
            while True:
                done, _ = await asyncio.wait(
                    {told, arrived}, timeout=keepalive, return_when=asyncio.FIRST_COMPLETED
                )
                if told in done:
                    yield _event("replaced", {})
                    return
                if arrived in done:
                    event = arrived.result()
                    arrived = asyncio.create_task(subscription.get())
                    if event.type != SESSION_EVENT:
                        message = change_message(event)
                        if message is not None:
                            yield message
                        continue
                if await _user_of(request, token) != user_id:  # keep-alive time, or a login ended
                    yield _event("logged_out", {})
                    return
                if not done:
                    yield b": keep-alive\n\n"
        finally:
            for task in (told, arrived):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


class _SessionStream(StreamingResponse):
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
    responses={200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"}},
)
async def stream_events(
    request: Request,
    keepalive: Annotated[
        float, Query(ge=0.2, le=60, description="Seconds between keep-alive comments (and session checks)")
    ] = DEFAULT_KEEPALIVE,
) -> StreamingResponse:
    """Stream the caller's `change` events as they are recorded (see the module docstring). A second
    stream of the same login session replaces the first."""
    token, _ = request_token(request)
    user_id = None if not token else await _user_of(request, token)
    if token is None or user_id is None:
        raise HTTPException(401, "log in to receive live updates")
    feed: LiveEventFeed = request.app.state.live_events
    key = hashlib.sha256(token.encode()).hexdigest()
    streams = _streams(request)
    older = streams.get(key)
    if older is not None:
        older.set()
    replaced = streams[key] = asyncio.Event()

    def release() -> None:
        if streams.get(key) is replaced:
            del streams[key]

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    body = _forward(request, feed, user_id, token, replaced, keepalive)
    return _SessionStream(body, headers=headers, release=release)
