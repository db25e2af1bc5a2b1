"""Bitget v2: `GET /api/v2/spot/account/info` (`authorities`, `ips`)."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt

from qari.adapters.exchanges.keys import KeyPermissions, labels
from qari.adapters.exchanges.venues.common import as_list

LABELS = labels(
    read="Read-only",
    spot_trade="Spot trade (read and write)",
    withdraw="Wallet → Withdraw",
    transfer="Wallet → Transfer",
    derivatives="Futures orders/holdings or Copy trading (read and write)",
    margin="Margin trading (read and write)",
)


async def probe(exchange: ccxt.Exchange) -> KeyPermissions:
    response = await exchange.privateSpotGetV2SpotAccountInfo()
    return permissions_from(response.get("data") or {})


def permissions_from(data: dict[str, Any]) -> KeyPermissions:
    codes = set(as_list(data.get("authorities")))
    ips = tuple(as_list(data.get("ips")))
    return KeyPermissions(
        read=bool(codes),
        spot_trade=bool(codes & {"stow", "trade"}),
        withdraw="wwow" in codes,
        transfer="wtow" in codes,
        derivatives=bool(codes & {"coow", "cpow", "ttow"}),
        margin="smow" in codes,
        ip_restricted=bool(ips),
        ips=ips,
        labels=LABELS,
    )
