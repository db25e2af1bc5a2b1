"""HTX stand-in: Signature v2 — base64 HMAC-SHA256 over METHOD\\nhost\\npath\\nsorted encoded query.
The host in the payload is `api.huobi.pro` (what ccxt signs), not this server's address."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from .base import READ_ONLY, TRANSFER, WITHDRAW, Rejected, Standin, StandinKey, hmac_b64

HOST = "api.huobi.pro"
ERRORS = {
    "unknown_key": "Signature not valid: Incorrect Access key [Access key错误]",
    "bad_signature": "Signature not valid: Verification failure [校验失败]",
    "ip": "Signature not valid: Incorrect IP address [127.0.0.1] not in the API key's IP whitelist",
    "clock": "Signature not valid: Timestamp error",
}


def canonical_query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(pairs))


def signature(secret: str, method: str, path: str, pairs: list[tuple[str, str]]) -> str:
    return hmac_b64(secret, "\n".join((method, HOST, path, canonical_query(pairs))))


class HtxStandin(Standin):
    def __init__(self) -> None:
        super().__init__(venue="htx")

    def reject(self, kind: str) -> web.Response:
        error = {
            "status": "error",
            "err-code": "api-signature-not-valid",
            "err-msg": ERRORS[kind],
            "data": None,
        }
        return self.json(error)

    async def authenticate(self, request: web.Request) -> StandinKey:
        pairs = [
            (unquote(k), unquote(v))
            for k, _, v in (part.partition("=") for part in self.raw_query(request).split("&") if part)
        ]
        params = dict(pairs)
        key = self.key_for(params.get("AccessKeyId"), request)
        sent = params.pop("Signature", "")
        unsigned = [(k, v) for k, v in pairs if k != "Signature"]
        if sent != signature(key.secret, request.method, request.path, unsigned):
            raise Rejected("bad_signature")
        moment = dt.datetime.fromisoformat(params.get("Timestamp", "1970-01-01T00:00:00")).replace(
            tzinfo=dt.UTC
        )
        if abs(self.now_ms() / 1000 - moment.timestamp()) > 300:
            raise Rejected("clock")
        self.check_ip(key, request)
        return key

    def key_entry(self, key: StandinKey) -> dict[str, Any]:
        # HTX has no separate transfer permission: transfers out of the account ride on `withdraw`.
        perm = {
            READ_ONLY: "readOnly",
            WITHDRAW: "readOnly,trade,withdraw",
            TRANSFER: "readOnly,trade,withdraw",
        }
        return {
            "accessKey": key.api_key,
            "status": "normal",
            "note": "qari",
            "permission": perm.get(key.profile, "readOnly,trade"),
            "ipAddresses": ",".join(key.ips),
            "validDays": -1,
            "createTime": 1615192704000,
            "updateTime": 1623030338000,
        }

    def routes(self) -> list[web.RouteDef]:
        async def server_time(request: web.Request) -> web.Response:
            return self.json({"status": "ok", "data": self.now_ms()})

        async def uid(request: web.Request) -> web.Response:
            await self.authenticate(request)
            return self.json({"code": 200, "data": 63628520, "ok": True})

        async def api_key(request: web.Request) -> web.Response:
            key = await self.authenticate(request)
            if request.query.get("uid") != "63628520":
                return self.json({"code": 2002, "message": "invalid field value in `uid`", "ok": False})
            return self.json({"code": 200, "message": "success", "data": [self.key_entry(key)], "ok": True})

        async def accounts(request: web.Request) -> web.Response:
            await self.authenticate(request)
            data = [{"id": 100001, "type": "spot", "subtype": "", "state": "working"}]
            return self.json({"status": "ok", "data": data})

        async def balance(request: web.Request) -> web.Response:
            await self.authenticate(request)
            rows = [
                {"currency": "usdt", "type": "trade", "balance": "1000", "seq-num": "1"},
                {"currency": "usdt", "type": "frozen", "balance": "0", "seq-num": "1"},
            ]
            data = {"id": 100001, "type": "spot", "state": "working", "list": rows}
            return self.json({"status": "ok", "data": data})

        return [
            web.get("/v1/common/timestamp", server_time),
            web.get("/v2/user/uid", uid),
            web.get("/v2/user/api-key", api_key),
            web.get("/v1/account/accounts", accounts),
            web.get("/v1/account/accounts/{account_id}/balance", balance),
        ]
