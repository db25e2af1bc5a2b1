"""MEXC spot v3 stand-in: hex HMAC-SHA256 over the raw query up to `&signature=` (Binance style)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .base import READ_ONLY, TRANSFER, WITHDRAW, Standin, StandinKey, hmac_hex

ERRORS = {
    "unknown_key": (400, 10072, "Api key info invalid"),
    "bad_signature": (400, 700002, "Signature for this request is not valid."),
    "ip": (400, 700006, "IP [127.0.0.1] not in the ip white list"),
    "clock": (400, 700003, "Timestamp for this request is outside of the recvWindow."),
}


def signature(secret: str, query: str) -> str:
    return hmac_hex(secret, query)


class MexcStandin(Standin):
    def __init__(self) -> None:
        super().__init__(venue="mexc")

    def reject(self, kind: str) -> web.Response:
        status, code, message = ERRORS[kind]
        return self.json({"code": code, "msg": message}, status)

    async def authenticate(self, request: web.Request) -> StandinKey:
        return self.query_signed_key(request, "X-MEXC-APIKEY", self.raw_query(request))

    def key_info(self, key: StandinKey) -> dict[str, Any]:
        perms = ["SPOT_ACCOUNT_READ", "SPOT_DEAL_READ", "CONTRACT_ACCOUNT_READ"]
        if key.profile != READ_ONLY:
            perms.append("SPOT_DEAL_WRITE")
        perms += {WITHDRAW: ["SPOT_WITHDRAW_WRITE"], TRANSFER: ["SPOT_TRANSFER_WRITE"]}.get(key.profile, [])
        return {
            "note": "qari",
            "accessKey": key.api_key,
            "createTime": "2026-09-14T18:53:36.000+00:00",
            "permissions": ",".join(perms),
            "remainingValidity": 82,
            "ipWhiteList": ",".join(key.ips),
            "status": "VALID",
        }

    def routes(self) -> list[web.RouteDef]:
        async def server_time(request: web.Request) -> web.Response:
            return self.json({"serverTime": self.now_ms()})

        async def api_key_info(request: web.Request) -> web.Response:
            key = await self.authenticate(request)
            if request.query.get("accessKey") != key.api_key:
                return self.json({"code": 700004, "msg": "accessKey mismatch"}, 400)
            return self.json(self.key_info(key))

        async def account(request: web.Request) -> web.Response:
            await self.authenticate(request)
            balances = [{"asset": "USDT", "free": "1000", "locked": "0"}]
            return self.json(
                {"canTrade": True, "canWithdraw": True, "accountType": "SPOT", "balances": balances}
            )

        return [
            web.get("/api/v3/time", server_time),
            web.get("/api/v3/apiKeyInfo", api_key_info),
            web.get("/api/v3/account", account),
        ]
