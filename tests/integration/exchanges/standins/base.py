"""Shared machinery: keys with permission profiles, an aiohttp server on a free port, request log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

# Permission profiles every stand-in renders in its own venue's vocabulary.
FULL = "full"
READ_ONLY = "read_only"
WITHDRAW = "withdraw"
TRANSFER = "transfer"
PROFILES = (FULL, READ_ONLY, WITHDRAW, TRANSFER)

ALLOWED_IP = "127.0.0.1"
OTHER_IP = "203.0.113.7"


@dataclass
class StandinKey:
    api_key: str
    secret: str
    passphrase: str | None = None
    profile: str = FULL
    ips: tuple[str, ...] = ()


def hmac_hex(secret: str, payload: str, digest: Any = hashlib.sha256) -> str:
    return hmac.new(secret.encode(), payload.encode(), digest).hexdigest()


def hmac_b64(secret: str, payload: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()).decode()


class Rejected(Exception):
    """Raised by `authenticate` to answer with the venue's own error envelope."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind  # unknown_key | bad_signature | bad_passphrase | ip | clock


@dataclass
class Standin:
    venue: str = ""
    keys: dict[str, StandinKey] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    clock_offset_ms: int = 0
    _runner: web.AppRunner | None = None
    base_url: str = ""

    # -- to implement per venue --------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def reject(self, kind: str) -> web.Response:
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------------------------
    def add_key(self, key: StandinKey) -> StandinKey:
        self.keys[key.api_key] = key
        return key

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    @staticmethod
    def raw_query(request: web.Request) -> str:
        raw = request.raw_path
        return raw.split("?", 1)[1] if "?" in raw else ""

    def key_for(self, api_key: str | None, request: web.Request) -> StandinKey:
        key = self.keys.get(api_key or "")
        if key is None:
            raise Rejected("unknown_key")
        return key

    @staticmethod
    def check_ip(key: StandinKey, request: web.Request) -> None:
        if key.ips and request.remote not in key.ips:
            raise Rejected("ip")

    def query_signed_key(self, request: web.Request, key_header: str, signed_text: str) -> StandinKey:
        """Binance-style auth (Binance, MEXC): hex HMAC-SHA256 of everything before `&signature=`,
        then `timestamp` within `recvWindow`, then the key's IP list."""
        key = self.key_for(request.headers.get(key_header), request)
        signed, _, sig = signed_text.rpartition("&signature=")
        if not sig or sig.lower() != hmac_hex(key.secret, signed):
            raise Rejected("bad_signature")
        params = {k: v[0] for k, v in parse_qs(signed).items()}
        now = self.now_ms()
        ts, recv = int(params.get("timestamp", "0")), int(params.get("recvWindow", "5000"))
        if not (ts < now + 1000 and now - ts <= recv):
            raise Rejected("clock")
        self.check_ip(key, request)
        return key

    def json(self, payload: Any, status: int = 200) -> web.Response:
        return web.Response(text=json.dumps(payload), status=status, content_type="application/json")

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except Rejected as e:
            return self.reject(e.kind)

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
