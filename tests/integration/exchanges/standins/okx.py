"""OKX v5 stand-in: base64 HMAC-SHA256 over ISO-ts + METHOD + path(?query) + body; plain passphrase."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from .base import READ_ONLY, TRANSFER, WITHDRAW, Rejected, Standin, StandinKey, hmac_b64

ERRORS = {
    "unknown_key": (401, "50111", "Invalid OK-ACCESS-KEY"),
    "bad_signature": (401, "50113", "Invalid Sign"),
    "bad_passphrase": (401, "50105", "Your OK-ACCESS-PASSPHRASE is incorrect"),
    "ip": (401, "50110", "Your IP 127.0.0.1 is not included in your API key's IP whitelist."),
    "clock": (401, "50102", "Timestamp request expired"),
}


def signature(secret: str, timestamp: str, method: str, path_and_query: str, body: str) -> str:
    return hmac_b64(secret, timestamp + method + path_and_query + body)


class OkxStandin(Standin):
    def __init__(self) -> None:
        super().__init__(venue="okx")

    def reject(self, kind: str) -> web.Response:
        status, code, message = ERRORS[kind]
        return self.json({"code": code, "msg": message, "data": []}, status)

    async def authenticate(self, request: web.Request) -> StandinKey:
        key = self.key_for(request.headers.get("OK-ACCESS-KEY"), request)
        ts = request.headers.get("OK-ACCESS-TIMESTAMP", "")
        body = await request.text() if request.method != "GET" else ""
        if request.headers.get("OK-ACCESS-SIGN") != signature(
            key.secret, ts, request.method, request.raw_path, body
        ):
            raise Rejected("bad_signature")
        if request.headers.get("OK-ACCESS-PASSPHRASE") != key.passphrase:
            raise Rejected("bad_passphrase")
        sent = dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000
        if abs(self.now_ms() - sent) > 30_000:
            raise Rejected("clock")
        self.check_ip(key, request)
        return key

    def config(self, key: StandinKey) -> dict[str, Any]:
        # OKX has no separate transfer permission: fund transfers ride on `withdraw`.
        perm = {
            READ_ONLY: "read_only",
            WITHDRAW: "read_only,trade,withdraw",
            TRANSFER: "read_only,trade,withdraw",
        }
        return {
            "uid": "44705892343619584",
            "mainUid": "44705892343619584",
            "acctLv": "1",
            "posMode": "net_mode",
            "autoLoan": False,
            "level": "Lv1",
            "label": "qari",
            "ip": ",".join(key.ips),
            "perm": perm.get(key.profile, "read_only,trade"),
            "kycLv": "2",
            "type": "0",
        }

    def routes(self) -> list[web.RouteDef]:
        async def server_time(request: web.Request) -> web.Response:
            return self.json({"code": "0", "msg": "", "data": [{"ts": str(self.now_ms())}]})

        async def account_config(request: web.Request) -> web.Response:
            return self.json(
                {"code": "0", "msg": "", "data": [self.config(await self.authenticate(request))]}
            )

        async def balance(request: web.Request) -> web.Response:
            await self.authenticate(request)
            detail = {"ccy": "USDT", "availBal": "1000", "cashBal": "1000", "frozenBal": "0", "eq": "1000"}
            data = [{"totalEq": "1000", "details": [detail], "uTime": str(self.now_ms())}]
            return self.json({"code": "0", "msg": "", "data": data})

        return [
            web.get("/api/v5/public/time", server_time),
            web.get("/api/v5/account/config", account_config),
            web.get("/api/v5/account/balance", balance),
        ]
