"""KuCoin: `GET /api/v1/user/api-key` (`permission`, `ipWhitelist`)."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt

from qari.adapters.exchanges.keys import KeyPermissions, labels
from qari.adapters.exchanges.venues.common import as_list

LABELS = labels(
    read="General",
    spot_trade="Spot Trading",
    withdraw="Withdrawal (Transfer)",
    transfer="Flex Transfers (InnerTransfer)",
    derivatives="Futures Trading",
    margin="Margin Trading",
)


async def probe(exchange: ccxt.Exchange) -> KeyPermissions:
    response = await exchange.privateGetUserApiKey()
    return permissions_from(response.get("data") or {})


def permissions_from(data: dict[str, Any]) -> KeyPermissions:
    perm = set(as_list(data.get("permission")))
    ips = tuple(as_list(data.get("ipWhitelist")))
    return KeyPermissions(
        read="General" in perm,
        spot_trade="Spot" in perm,
        withdraw=bool(perm & {"Transfer", "Withdrawal", "Withdraw"}),
        transfer="InnerTransfer" in perm,
        derivatives=bool(perm & {"Futures", "LeadtradeFutures"}),
        margin="Margin" in perm,
        ip_restricted=bool(ips),
        ips=ips,
        labels=LABELS,
    )
