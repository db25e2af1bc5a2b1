"""Bitget v2: `GET /api/v2/spot/account/info` (`authorities`, `ips`).

Allow-list only (fail closed): a key is accepted when every token it carries is known to be harmless
(read-only codes, spot trade). Any other token, known or new, is named in the refusal, so a permission
Bitget adds later can never slip through as "not forbidden".
"""

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


# Bitget "Get Account Information" `authorities` codes (EXCHANGES.md §1.6); legacy keys show
# `readonly` / `trade`.
READ_ONLY = frozenset(
    {"readonly", "coor", "cpor", "stor", "smor", "ttor", "wtor", "taxr", "chor", "p2pr", "pllr"}
)
SPOT_TRADE = frozenset({"stow", "trade"})
WITHDRAW = frozenset({"wwow"})
TRANSFER = frozenset({"wtow"})
DERIVATIVES = frozenset({"coow", "cpow", "ttow"})
MARGIN = frozenset({"smow"})
_NAMED = READ_ONLY | SPOT_TRADE | WITHDRAW | TRANSFER | DERIVATIVES | MARGIN


def permissions_from(data: dict[str, Any]) -> KeyPermissions:
    codes = set(as_list(data.get("authorities")))
    ips = tuple(as_list(data.get("ips")))
    unknown = sorted(codes - _NAMED)  # not on the allow-list: refused, named as Bitget names it
    return KeyPermissions(
        read=bool(codes),
        spot_trade=bool(codes & SPOT_TRADE),
        withdraw=bool(codes & WITHDRAW),
        transfer=bool(codes & TRANSFER),
        derivatives=bool(codes & DERIVATIVES),
        margin=bool(codes & MARGIN),
        ip_restricted=bool(ips),
        ips=ips,
        labels=LABELS,
        extra_forbidden=tuple(f"permission code '{code}' (not known to be safe)" for code in unknown),
    )
