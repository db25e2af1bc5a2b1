"""Binance spot stand-in: HMAC-SHA256 hex over the raw query (+ body) up to `&signature=`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .base import READ_ONLY, TRANSFER, WITHDRAW, Standin, StandinKey, hmac_hex

ERRORS = {
    "unknown_key": (401, -2015, "Invalid API-key, IP, or permissions for action."),
    "ip": (401, -2015, "Invalid API-key, IP, or permissions for action."),
    "bad_signature": (400, -1022, "Signature for this request is not valid."),
    "clock": (400, -1021, "Timestamp for this request is outside of the recvWindow."),
}


def signature(secret: str, total_params: str) -> str:
    return hmac_hex(secret, total_params)


class BinanceStandin(Standin):
    def __init__(self) -> None:
        super().__init__(venue="binance")

    def reject(self, kind: str) -> web.Response:
        status, code, message = ERRORS[kind]
        return self.json({"code": code, "msg": message}, status)

    async def authenticate(self, request: web.Request) -> StandinKey:
        body = await request.text() if request.method != "GET" else ""
        return self.query_signed_key(request, "X-MBX-APIKEY", self.raw_query(request) + body)

    def restrictions(self, key: StandinKey) -> dict[str, Any]:
        return {
            "ipRestrict": bool(key.ips),
            "createTime": 1698645219000,
            "enableReading": True,
            "enableWithdrawals": key.profile == WITHDRAW,
            "enableInternalTransfer": key.profile == TRANSFER,
            "enableMargin": False,
            "enableFutures": False,
            "permitsUniversalTransfer": key.profile == TRANSFER,
            "enableVanillaOptions": False,
            "enableFixApiTrade": False,
            "enableFixReadOnly": True,
            "enableSpotAndMarginTrading": key.profile != READ_ONLY,
            "enablePortfolioMarginTrading": False,
        }

    def routes(self) -> list[web.RouteDef]:
        async def server_time(request: web.Request) -> web.Response:
            return self.json({"serverTime": self.now_ms()})

        async def api_restrictions(request: web.Request) -> web.Response:
            return self.json(self.restrictions(await self.authenticate(request)))

        async def account(request: web.Request) -> web.Response:
            await self.authenticate(request)
            return self.json(
                {
                    "makerCommission": 10,
                    "takerCommission": 10,
                    "canTrade": True,
                    "canWithdraw": True,
                    "canDeposit": True,
                    "updateTime": self.now_ms(),
                    "accountType": "SPOT",
                    "balances": [{"asset": "USDT", "free": "1000.00000000", "locked": "0.00000000"}],
                    "permissions": ["SPOT"],
                }
            )

        return [
            web.get("/api/v3/time", server_time),
            web.get("/sapi/v1/account/apiRestrictions", api_restrictions),
            web.get("/api/v3/account", account),
        ]
