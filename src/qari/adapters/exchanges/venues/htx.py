"""HTX: `GET /v2/user/uid`, then `GET /v2/user/api-key?uid=&accessKey=`. ccxt raises nothing for unknown
v2 `code` values, so the code is checked here."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt

from qari.adapters.exchanges.errors import class_for
from qari.adapters.exchanges.keys import KeyPermissions, labels
from qari.adapters.exchanges.venues.common import as_list
from qari.core.errors import InvalidCredentialsError, PermissionDeniedError, RejectedError

LABELS = labels(
    read="Read-only",
    spot_trade="Trade",
    withdraw="Withdraw",
    transfer="Transfer",
    derivatives="Derivatives",
    margin="Margin",
)


def _checked(response: dict[str, Any], what: str) -> Any:
    code = str(response.get("code", "200"))
    if code != "200":
        message = str(response.get("message") or "")
        cls = class_for("htx", code, message) or RejectedError
        raise cls(f"htx: {code} {message}".strip()[:200], code=code)
    return response.get("data")


async def probe(exchange: ccxt.Exchange) -> KeyPermissions:
    uid = _checked(await exchange.v2PrivateGetUserUid(), "uid")
    keys = _checked(
        await exchange.v2PrivateGetUserApiKey({"uid": uid, "accessKey": exchange.apiKey}), "api-key"
    )
    return permissions_from(keys or [], str(exchange.apiKey))


def permissions_from(keys: list[dict[str, Any]], api_key: str) -> KeyPermissions:
    entry = next((k for k in keys if str(k.get("accessKey")) == api_key), None)
    if entry is None:
        raise PermissionDeniedError(
            "htx: the key's permissions could not be read (sub-user key?)", code="NOT_LISTED"
        )
    if str(entry.get("status", "normal")) != "normal":
        raise InvalidCredentialsError("htx: the key has expired", code=str(entry.get("status")))
    perm = set(as_list(entry.get("permission")))
    ips = tuple(as_list(entry.get("ipAddresses")))
    return KeyPermissions(
        read="readOnly" in perm,
        spot_trade="trade" in perm,
        withdraw="withdraw" in perm,
        # No separate transfer permission on HTX: moving funds out rides on `withdraw` (refused above);
        # `trade` also moves funds between the user's own HTX accounts, which no HTX trade key can avoid.
        transfer=False,
        derivatives=False,  # HTX spot keys carry no derivatives permission
        ip_restricted=bool(ips),
        ips=ips,
        labels=LABELS,
    )
