"""Bitget v2 stand-in: base64 HMAC-SHA256 over ts + METHOD + path(?query) + body; plain passphrase."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .base import READ_ONLY, TRANSFER, WITHDRAW, Rejected, Standin, StandinKey, hmac_b64

ERRORS = {
    "unknown_key": (400, "40006", "Invalid ACCESS_KEY"),
    "bad_signature": (400, "40009", "sign signature error"),
    "bad_passphrase": (400, "40012", "apikey/password is incorrect"),
    "ip": (400, "40018", "Invalid IP"),
    "clock": (400, "40008", "Request timestamp expired"),
}


def signature(secret: str, timestamp: str, method: str, path_and_query: str, body: str) -> str:
    return hmac_b64(secret, timestamp + method + path_and_query + body)


class BitgetStandin(Standin):
    def __init__(self) -> None:
        super().__init__(venue="bitget")

    def reject(self, kind: str) -> web.Response:
        status, code, message = ERRORS[kind]
        return self.json({"code": code, "msg": message, "requestTime": self.now_ms(), "data": None}, status)

    async def authenticate(self, request: web.Request) -> StandinKey:
        key = self.key_for(request.headers.get("ACCESS-KEY"), request)
        ts = request.headers.get("ACCESS-TIMESTAMP", "0")
        body = await request.text() if request.method != "GET" else ""
        if request.headers.get("ACCESS-SIGN") != signature(
            key.secret, ts, request.method, request.raw_path, body
        ):
            raise Rejected("bad_signature")
        if request.headers.get("ACCESS-PASSPHRASE") != key.passphrase:
            raise Rejected("bad_passphrase")
        if abs(self.now_ms() - int(ts)) > 30_000:
            raise Rejected("clock")
        self.check_ip(key, request)
        return key

    def info(self, key: StandinKey) -> dict[str, Any]:
        codes = {
            READ_ONLY: ["stor", "readonly"],
            WITHDRAW: ["stow", "stor", "wwow"],
            TRANSFER: ["stow", "wtow"],
        }
        return {
            "userId": "1234567890",
            "inviterId": "0",
            "ips": ",".join(key.ips),
            "authorities": codes.get(key.profile, ["stow", "stor"]),
            "parentId": 1,
            "traderType": "",
            "channelCode": "",
            "channel": "",
            "regisTime": "1246566789345",
        }

    def routes(self) -> list[web.RouteDef]:
        async def server_time(request: web.Request) -> web.Response:
            now = self.now_ms()
            return self.json(
                {"code": "00000", "msg": "success", "requestTime": now, "data": {"serverTime": str(now)}}
            )

        async def account_info(request: web.Request) -> web.Response:
            info = self.info(await self.authenticate(request))
            return self.json({"code": "00000", "msg": "success", "requestTime": self.now_ms(), "data": info})

        async def assets(request: web.Request) -> web.Response:
            await self.authenticate(request)
            row = {"coin": "USDT", "available": "1000", "frozen": "0", "locked": "0", "limitAvailable": "0"}
            data = [row | {"uTime": str(self.now_ms())}]
            return self.json({"code": "00000", "msg": "success", "requestTime": self.now_ms(), "data": data})

        return [
            web.get("/api/v2/public/time", server_time),
            web.get("/api/v2/spot/account/info", account_info),
            web.get("/api/v2/spot/account/assets", assets),
        ]
