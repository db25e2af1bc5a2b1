"""OKX v5: `GET /api/v5/account/config` (`perm`, `ip`, `acctLv`)."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt

from qari.adapters.exchanges.keys import KeyPermissions, labels
from qari.adapters.exchanges.venues.common import as_list

LABELS = labels(
    read="Read",
    spot_trade="Trade",
    withdraw="Withdraw",
    transfer="Transfer",
    derivatives="account mode other than 'Spot mode' (derivatives enabled)",
    margin="Margin",
)


async def probe(exchange: ccxt.Exchange) -> KeyPermissions:
    response = await exchange.privateGetAccountConfig()
    data = response.get("data") or [{}]
    return permissions_from(data[0] if data else {})


def permissions_from(config: dict[str, Any]) -> KeyPermissions:
    perm = set(as_list(config.get("perm")))
    ips = tuple(as_list(config.get("ip")))
    return KeyPermissions(
        read="read_only" in perm,
        spot_trade="trade" in perm,
        withdraw="withdraw" in perm,
        # No separate transfer permission on OKX: moving funds out rides on `withdraw` (refused above);
        # `trade` also moves funds between the user's own OKX accounts, which no OKX trade key can avoid.
        transfer=False,
        # `trade` covers every instrument the account mode allows; only Spot mode (acctLv 1) is spot-only.
        derivatives=str(config.get("acctLv", "")) != "1",
        ip_restricted=bool(ips),
        ips=ips,
        labels=LABELS,
    )
