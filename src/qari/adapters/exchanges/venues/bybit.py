"""Bybit v5 (and the built-in sandbox, which speaks the same protocol): `GET /v5/user/query-api`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ccxt.async_support as ccxt

from qari.adapters.exchanges.keys import KeyPermissions, labels
from qari.adapters.exchanges.venues.common import as_list, parse_iso, unrestricted

_TRANSFER = {"AccountTransfer", "SubMemberTransfer", "SubMemberTransferList"}
# Derivatives families. `Derivatives: ["DerivativesTrade"]` is granted to every UTA key and is not refused.
_DERIVATIVES = ("ContractTrade", "Options", "CopyTrading", "BlockTrade")

LABELS = labels(
    read="Read",
    spot_trade="Spot Trading (Spot → Trade, on a 'Read-Write' key)",
    withdraw="Assets → Withdrawal",
    transfer="Assets → Transfer (account or sub-account transfer)",
    derivatives="Contract / Options / Copy / Block trading",
    margin="Margin trading",
)


async def probe(exchange: ccxt.Exchange) -> KeyPermissions:
    response = await exchange.privateGetV5UserQueryApi()
    return permissions_from(response.get("result") or {})


def permissions_from(result: dict[str, Any]) -> KeyPermissions:
    perms: dict[str, Any] = result.get("permissions") or {}
    read_only = str(result.get("readOnly", "1")) == "1"
    wallet = set(as_list(perms.get("Wallet")))
    ips = tuple(str(ip) for ip in as_list(result.get("ips")))
    expires: dt.datetime | None = parse_iso(result.get("expiredAt"))
    other_wallet = sorted(wallet - _TRANSFER - {"Withdraw"})
    return KeyPermissions(
        read=True,
        spot_trade=(not read_only) and "SpotTrade" in as_list(perms.get("Spot")),
        withdraw="Withdraw" in wallet,
        transfer=bool(wallet & _TRANSFER),
        derivatives=any(as_list(perms.get(name)) for name in _DERIVATIVES),
        margin=False,
        ip_restricted=not unrestricted(ips),
        ips=() if unrestricted(ips) else ips,
        expires_at=expires,
        labels=LABELS,
        extra_forbidden=tuple(f"Assets → {name}" for name in other_wallet),
    )
