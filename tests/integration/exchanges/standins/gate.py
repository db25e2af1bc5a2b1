"""Gate v4 stand-in: hex HMAC-SHA512 over METHOD\\npath\\nquery\\nhex(SHA512(body))\\nts (seconds)."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from .base import READ_ONLY, TRANSFER, WITHDRAW, Rejected, Standin, StandinKey, hmac_hex

ERRORS = {
    "unknown_key": (401, "INVALID_KEY", "Invalid key provided"),
    "bad_signature": (401, "INVALID_SIGNATURE", "Signature mismatch"),
    "ip": (403, "IP_FORBIDDEN", "Request IP not in whitelist: 127.0.0.1"),
    "clock": (401, "REQUEST_EXPIRED", "Request timestamp expired"),
}


def signature(secret: str, method: str, path: str, query: str, body: str, timestamp: str) -> str:
    body_hash = hashlib.sha512(body.encode()).hexdigest()
    return hmac_hex(secret, "\n".join((method, path, query, body_hash, timestamp)), hashlib.sha512)


class GateStandin(Standin):
    def __init__(self) -> None:
        super().__init__(venue="gate")

    def reject(self, kind: str) -> web.Response:
        status, label, message = ERRORS[kind]
        return self.json({"label": label, "message": message}, status)

    async def authenticate(self, request: web.Request) -> StandinKey:
        key = self.key_for(request.headers.get("KEY"), request)
        ts = request.headers.get("Timestamp", "0")
        body = await request.text() if request.method != "GET" else ""
        expected = signature(key.secret, request.method, request.path, self.raw_query(request), body, ts)
        if request.headers.get("SIGN") != expected:
            raise Rejected("bad_signature")
        if abs(self.now_ms() / 1000 - float(ts)) > 60:
            raise Rejected("clock")
        self.check_ip(key, request)
        return key

    def main_key(self, key: StandinKey) -> dict[str, Any]:
        names = {"account": True, "spot": key.profile == READ_ONLY}
        if key.profile in (WITHDRAW, TRANSFER):
            names["wallet"] = False
        return {
            "state": 1,
            "mode": 1,
            "name": "qari",
            "user_id": 1667201533,
            "perms": [{"name": n, "read_only": ro} for n, ro in names.items()],
            "ip_whitelist": list(key.ips),
            "currency_pairs": [],
            "key": key.api_key[:12] + "*****",
            "created_at": 1753030929,
            "update_at": 1756300567,
            "last_access": 1753030929,
        }

    def routes(self) -> list[web.RouteDef]:
        async def server_time(request: web.Request) -> web.Response:
            return self.json({"server_time": self.now_ms()})

        async def detail(request: web.Request) -> web.Response:
            key = await self.authenticate(request)
            body = {
                "user_id": 1667201533,
                "ip_whitelist": list(key.ips),
                "currency_pairs": [],
                "key": {"mode": 1},
            }
            return self.json(body | {"tier": 2, "copy_trading_role": 0})

        async def main_keys(request: web.Request) -> web.Response:
            key = await self.authenticate(request)
            others = {"state": 1, "mode": 1, "name": "other", "perms": [], "key": "ffffffff0000*****"}
            return self.json([others, self.main_key(key)])

        async def spot_accounts(request: web.Request) -> web.Response:
            await self.authenticate(request)
            return self.json([{"currency": "USDT", "available": "1000", "locked": "0", "update_id": 1}])

        return [
            web.get("/api/v4/spot/time", server_time),
            web.get("/api/v4/account/detail", detail),
            web.get("/api/v4/account/main_keys", main_keys),
            web.get("/api/v4/spot/accounts", spot_accounts),
        ]
