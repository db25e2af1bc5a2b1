"""A local stand-in for the Telegram Bot API: a real HTTP server on 127.0.0.1 that speaks the Bot API's
method names and JSON shapes (`/bot<token>/<method>`, `{"ok": ..., "result": ...}`, error_code,
description, parameters.retry_after), with scripted faults for tests: 429, 5xx and held answers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_ID = 7000001
BOT_USERNAME = "qari_test_bot"


@dataclass
class Sent:
    chat_id: int
    text: str
    message_id: int


@dataclass
class Fault:
    status: int
    retry_after: int | None = None


@dataclass
class StandInState:
    token: str
    sent: list[Sent] = field(default_factory=list)
    send_attempts: list[float] = field(default_factory=list)  # monotonic time of every sendMessage request
    faults: list[Fault] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 500
    next_message_id: int = 1
    # hold: "before" keeps a sendMessage unanswered and unprocessed until released (a dropped client
    # means Telegram never took it); "after" processes it, then keeps the answer back.
    hold: str | None = None
    held: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    polling: int = 0
    conflicts: int = 0  # getUpdates refused because another reader was polling
    closing: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _error(status: int, description: str, **parameters: Any) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif ctype:
            params.update(dict(await request.form()))
    return params


class TelegramStandIn:
    def __init__(self, token: str, port: int) -> None:
        self.state = StandInState(token=token)
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        app = Starlette(routes=[Route("/bot{token}/{method}", self._dispatch, methods=["GET", "POST"])])
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="off",
                timeout_graceful_shutdown=2,
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    # --- test controls (thread-safe) ---
    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("stand-in did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.state.release.set()
        self.state.closing = True
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def user_sends(self, chat_id: int, text: str, username: str = "alice") -> None:
        with self.state.lock:
            self.state.updates.append(
                {
                    "update_id": self.state.next_update_id,
                    "message": {
                        "message_id": self.state.next_update_id,
                        "from": {"id": chat_id, "is_bot": False, "first_name": "A", "username": username},
                        "chat": {"id": chat_id, "type": "private", "username": username},
                        "date": int(time.time()),
                        "text": text,
                    },
                }
            )
            self.state.next_update_id += 1

    def fail_next_sends(self, *faults: Fault) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)

    def sent_to(self, chat_id: int) -> list[str]:
        with self.state.lock:
            return [s.text for s in self.state.sent if s.chat_id == chat_id]

    # --- the Bot API ---
    async def _dispatch(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.state.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        params = await _params(request)
        if method == "getMe":
            return _ok({"id": BOT_ID, "is_bot": True, "first_name": "QARI", "username": BOT_USERNAME})
        if method == "sendMessage":
            return await self._send_message(request, params)
        if method == "getUpdates":
            return await self._get_updates(request, params)
        return _error(404, "Not Found")

    async def _send_message(self, request: Request, params: dict[str, Any]) -> JSONResponse:
        state = self.state
        with state.lock:
            state.send_attempts.append(time.monotonic())
            fault = state.faults.pop(0) if state.faults else None
            hold = state.hold
        if fault is not None:
            if fault.status == 429:
                retry = fault.retry_after or 1
                return _error(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
            return _error(fault.status, "Internal Server Error" if fault.status == 500 else "Bad Gateway")
        text = str(params.get("text", ""))
        try:
            chat_id = int(params.get("chat_id", ""))
        except ValueError:
            return _error(400, "Bad Request: chat not found")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        if hold == "before" and not await self._held(request):
            return _error(499, "client went away")  # never seen by the (dead) client
        sent = self._record(chat_id, text)
        if hold == "after":
            await self._held(request)
        return _ok(
            {
                "message_id": sent.message_id,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "QARI", "username": BOT_USERNAME},
                "chat": {"id": chat_id, "type": "private"},
                "date": int(time.time()),
                "text": text,
            }
        )

    async def _held(self, request: Request) -> bool:
        """Wait for release; False if the client disconnected first."""
        with self.state.lock:
            self.state.held += 1
        while not self.state.release.is_set():
            if await request.is_disconnected():
                return False
            await asyncio.sleep(0.02)
        return True

    def _record(self, chat_id: int, text: str) -> Sent:
        with self.state.lock:
            sent = Sent(chat_id=chat_id, text=text, message_id=self.state.next_message_id)
            self.state.next_message_id += 1
            self.state.sent.append(sent)
            return sent

    async def _get_updates(self, request: Request, params: dict[str, Any]) -> JSONResponse:
        state = self.state
        offset = int(params.get("offset", 0) or 0)
        timeout = min(float(params.get("timeout", 0) or 0), 5.0)
        with state.lock:
            if state.polling:
                state.conflicts += 1
                return _error(409, "Conflict: terminated by other getUpdates request")
            state.polling += 1
        try:
            deadline = time.monotonic() + timeout
            while True:
                with state.lock:
                    if offset:
                        state.updates = [u for u in state.updates if u["update_id"] >= offset]
                    pending = list(state.updates)
                if pending or time.monotonic() >= deadline or state.closing:
                    return _ok(pending)
                if await request.is_disconnected():
                    return _ok([])
                await asyncio.sleep(0.02)
        finally:
            with state.lock:
                state.polling -= 1
