"""Binance spot: `GET /sapi/v1/account/apiRestrictions` (flags only; the IP list endpoint was retired)."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt

from qari.adapters.exchanges.keys import KeyPermissions, labels
from qari.adapters.exchanges.venues.common import flag, from_ms

LABELS = labels(
    read="Enable Reading",
    spot_trade="Enable Spot & Margin Trading",
    withdraw="Enable Withdrawals",
    transfer="Enable Internal Transfer / Permits Universal Transfer",
    derivatives="Enable Futures / European Options / Portfolio Margin",
    margin="Enable Margin Loan, Repay & Transfer",
)


def _any_enabled(data: dict[str, Any], *names: str) -> bool | None:
    values = [flag(data, n) for n in names]
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


async def probe(exchange: ccxt.Exchange) -> KeyPermissions:
    return permissions_from(await exchange.sapiGetAccountApiRestrictions())


def permissions_from(data: dict[str, Any]) -> KeyPermissions:
    return KeyPermissions(
        read=flag(data, "enableReading"),
        spot_trade=flag(data, "enableSpotAndMarginTrading"),
        withdraw=flag(data, "enableWithdrawals"),
        transfer=_any_enabled(data, "enableInternalTransfer", "permitsUniversalTransfer"),
        derivatives=_any_enabled(
            data, "enableFutures", "enableVanillaOptions", "enablePortfolioMarginTrading"
        ),
        margin=flag(data, "enableMargin") is True,
        ip_restricted=flag(data, "ipRestrict"),
        expires_at=from_ms(data.get("tradingAuthorityExpirationTime")),
        labels=LABELS,
    )
