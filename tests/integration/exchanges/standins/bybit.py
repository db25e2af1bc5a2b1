"""Bybit v5 stand-in: HMAC-SHA256 hex over ts + key + recvWindow + (raw query | raw body)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .base import READ_ONLY, TRANSFER, WITHDRAW, Rejected, Standin, StandinKey, hmac_hex

ERRORS = {
    "unknown_key": (10003, "API key is invalid."),
    "bad_signature": (10004, "error sign! origin_string[...]"),
    "ip": (10010, "Unmatched IP, please check your API key's bound IP addresses."),
    "clock": (10002, "invalid request, please check your server timestamp or recv_window param"),
}


def signature(secret: str, timestamp: str, api_key: str, recv_window: str, payload: str) -> str:
    return hmac_hex(secret, timestamp + api_key + recv_window + payload)


class BybitStandin(Standin):
    def __init__(self) -> None:
        super().__init__(venue="bybit")

    def envelope(self, result: Any, code: int = 0, message: str = "OK") -> web.Response:
        return self.json(
            {"retCode": code, "retMsg": message, "result": result, "retExtInfo": {}, "time": self.now_ms()}
        )

    def reject(self, kind: str) -> web.Response:
        code, message = ERRORS[kind]
        return self.envelope({}, code, message)

    async def authenticate(self, request: web.Request) -> StandinKey:
        key = self.key_for(request.headers.get("X-BAPI-API-KEY"), request)
        ts = request.headers.get("X-BAPI-TIMESTAMP", "0")
        recv = request.headers.get("X-BAPI-RECV-WINDOW", "5000")
        payload = self.raw_query(request) if request.method == "GET" else await request.text()
        if request.headers.get("X-BAPI-SIGN") != signature(key.secret, ts, key.api_key, recv, payload):
            raise Rejected("bad_signature")
        now = self.now_ms()
        if not (now - int(recv) <= int(ts) < now + 1000):
            raise Rejected("clock")
        self.check_ip(key, request)
        return key

    def key_info(self, key: StandinKey) -> dict[str, Any]:
        wallet = {WITHDRAW: ["Withdraw"], TRANSFER: ["AccountTransfer", "SubMemberTransfer"]}.get(
            key.profile, []
        )
        return {
            "id": "13770661",
            "note": "qari",
            "apiKey": key.api_key,
            "readOnly": 1 if key.profile == READ_ONLY else 0,
            "secret": "",
            "permissions": {
                "ContractTrade": [],
                "Spot": [] if key.profile == READ_ONLY else ["SpotTrade"],
                "Wallet": wallet,
                "Options": [],
                "Derivatives": ["DerivativesTrade"],
                "CopyTrading": [],
                "BlockTrade": [],
                "Exchange": [],
                "NFT": [],
                "Affiliate": [],
                "Earn": [],
            },
            "ips": list(key.ips) or ["*"],
            "type": 1,
            "deadlineDay": 66 if not key.ips else -1,
            "expiredAt": "2099-12-22T07:20:25Z" if not key.ips else "",
            "createdAt": "2022-10-16T02:24:40Z",
            "unified": 0,
            "uta": 1,
            "userID": 24617703,
            "isMaster": True,
            "parentUid": "0",
        }

    def routes(self) -> list[web.RouteDef]:
        async def server_time(request: web.Request) -> web.Response:
            now = self.now_ms()
            return self.envelope({"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)})

        async def query_api(request: web.Request) -> web.Response:
            return self.envelope(self.key_info(await self.authenticate(request)))

        async def wallet_balance(request: web.Request) -> web.Response:
            await self.authenticate(request)
            coin = {
                "coin": "USDT",
                "equity": "1000",
                "walletBalance": "1000",
                "availableToWithdraw": "1000",
                "locked": "0",
                "borrowAmount": "0",
                "accruedInterest": "0",
                "totalOrderIM": "0",
                "totalPositionIM": "0",
            }
            return self.envelope({"list": [{"accountType": "UNIFIED", "coin": [coin]}]})

        return [
            web.get("/v5/market/time", server_time),
            web.get("/v5/user/query-api", query_api),
            web.get("/v5/account/wallet-balance", wallet_balance),
        ]
