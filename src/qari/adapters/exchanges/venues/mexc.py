"""MEXC spot v3: `GET /api/v3/apiKeyInfo?accessKey=` (never the POST form: it edits the whitelist)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ccxt.async_support as ccxt

from qari.adapters.exchanges.keys import KeyPermissions, labels
from qari.adapters.exchanges.venues.common import as_list
from qari.core.errors import InvalidCredentialsError

LABELS = labels(
    read="Account Details (SPOT_ACCOUNT_READ)",
    spot_trade="Spot Trading (SPOT_DEAL_WRITE)",
    withdraw="Withdrawal (SPOT_WITHDRAW_WRITE)",
    transfer="Transfer (SPOT_TRANSFER_WRITE)",
    derivatives="Futures trading (CONTRACT_*_WRITE)",
    margin="Margin",
)


async def probe(exchange: ccxt.Exchange) -> KeyPermissions:
    response = await exchange.spotPrivateGetApiKeyInfo({"accessKey": exchange.apiKey})
    return permissions_from(response)


def permissions_from(data: dict[str, Any], now: dt.datetime | None = None) -> KeyPermissions:
    if str(data.get("status", "VALID")).upper() != "VALID":
        raise InvalidCredentialsError("mexc: the key is no longer valid", code=str(data.get("status")))
    perm = set(as_list(data.get("permissions")))
    ips = tuple(as_list(data.get("ipWhiteList")))
    days = data.get("remainingValidity")
    expires = (
        now + dt.timedelta(days=int(days)) if now is not None and isinstance(days, int) and not ips else None
    )
    return KeyPermissions(
        read="SPOT_ACCOUNT_READ" in perm,
        spot_trade="SPOT_DEAL_WRITE" in perm,
        withdraw="SPOT_WITHDRAW_WRITE" in perm,
        transfer="SPOT_TRANSFER_WRITE" in perm,
        derivatives=bool(perm & {"CONTRACT_ACCOUNT_WRITE", "CONTRACT_DEAL_WRITE"}),
        ip_restricted=bool(ips),
        ips=ips,
        expires_at=expires,
        labels=LABELS,
    )
