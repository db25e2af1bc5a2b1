"""KuCoin stand-in: base64 HMAC-SHA256 over ts + METHOD + path(?query) + body; key version 2
passphrase = base64 HMAC-SHA256(secret, passphrase)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .base import READ_ONLY, TRANSFER, WITHDRAW, Rejected, Standin, StandinKey, hmac_b64

ERRORS = {
    "unknown_key": (401, "400003", "KC-API-KEY not exists"),
    "bad_passphrase": (401, "400004", "Invalid KC-API-PASSPHRASE"),
    "bad_signature": (401, "400005", "Invalid KC-API-SIGN"),
    "ip": (401, "400006", "Our servers have detected that your IP [127.0.0.1] is not in your whitelist."),
    "clock": (
        401,
        "400002",
        "KC-API-TIMESTAMP Invalid -- Time differs from server time by more than 5 seconds",
    ),
}


def signature(secret: str, timestamp: str, method: str, path_and_query: str, body: str) -> str:
    return hmac_b64(secret, timestamp + method + path_and_query + body)


def passphrase_v2(secret: str, passphrase: str) -> str:
    return hmac_b64(secret, passphrase)


class KucoinStandin(Standin):
    def __init__(self) -> None:
        super().__init__(venue="kucoin")

    def reject(self, kind: str) -> web.Response:
        status, code, message = ERRORS[kind]
        return self.json({"code": code, "msg": message}, status)

    async def authenticate(self, request: web.Request) -> StandinKey:
        key = self.key_for(request.headers.get("KC-API-KEY"), request)
        ts = request.headers.get("KC-API-TIMESTAMP", "0")
        body = await request.text() if request.method != "GET" else ""
        if request.headers.get("KC-API-SIGN") != signature(
            key.secret, ts, request.method, request.raw_path, body
        ):
            raise Rejected("bad_signature")
        if request.headers.get("KC-API-PASSPHRASE") != passphrase_v2(key.secret, key.passphrase or ""):
            raise Rejected("bad_passphrase")
        if abs(self.now_ms() - int(ts)) > 5_000:
            raise Rejected("clock")
        self.check_ip(key, request)
        return key

    def api_key_info(self, key: StandinKey) -> dict[str, Any]:
        perm = {
            READ_ONLY: "General",
            WITHDRAW: "General,Spot,Transfer",
            TRANSFER: "General,Spot,InnerTransfer",
        }
        return {
            "remark": "qari",
            "apiKey": key.api_key,
            "apiVersion": 3,
            "permission": perm.get(key.profile, "General,Spot"),
            "ipWhitelist": ",".join(key.ips),
            "createdAt": 1728905969000,
            "uid": 123456789,
            "isMaster": True,
        }

    def routes(self) -> list[web.RouteDef]:
        async def server_time(request: web.Request) -> web.Response:
            return self.json({"code": "200000", "msg": "success", "data": self.now_ms()})

        async def api_key(request: web.Request) -> web.Response:
            return self.json({"code": "200000", "data": self.api_key_info(await self.authenticate(request))})

        async def accounts(request: web.Request) -> web.Response:
            await self.authenticate(request)
            row = {"id": "5bd6e9286d99522a52e458de", "currency": "USDT", "type": "trade"}
            row |= {"balance": "1000", "available": "1000", "holds": "0"}
            return self.json({"code": "200000", "data": [row]})

        async def hf_opened(request: web.Request) -> web.Response:
            await self.authenticate(request)
            return self.json({"code": "200000", "data": False})  # a classic (non-HF) account

        return [
            web.get("/api/v1/hf/accounts/opened", hf_opened),
            web.get("/api/v1/timestamp", server_time),
            web.get("/api/v1/user/api-key", api_key),
            web.get("/api/v1/accounts", accounts),
        ]
