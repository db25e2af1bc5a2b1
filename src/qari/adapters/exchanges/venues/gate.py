"""Gate v4: `GET /api/v4/account/detail` (IP whitelist) + `GET /api/v4/account/main_keys` (permissions).

Both need the key's "Account" read permission; without it permissions cannot be proven and the key is
refused with that instruction. `main_keys` lists every main-account key masked, matched by prefix.
"""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt

from qari.adapters.exchanges.keys import KeyPermissions, labels
from qari.adapters.exchanges.venues.common import as_list
from qari.core.errors import InvalidCredentialsError, PermissionDeniedError

LABELS = labels(
    read="Account (read only)",
    spot_trade="Spot/Margin Trade (read and write)",
    withdraw="Wallet (read and write: withdrawals)",
    transfer="Wallet (read and write: transfers)",
    derivatives="Perpetual / Delivery / Options (read and write)",
    margin="Margin / Loan (read and write)",
)


async def probe(exchange: ccxt.Exchange) -> KeyPermissions:
    detail = await exchange.privateAccountGetDetail()
    keys = await exchange.privateAccountGetMainKeys()
    return permissions_from(detail, keys, str(exchange.apiKey))


def _match(keys: Any, api_key: str) -> dict[str, Any] | None:
    entries = keys if isinstance(keys, list) else [keys]
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        masked = str(entry.get("key") or "")
        prefix = masked.split("*", 1)[0]
        if prefix and api_key.startswith(prefix):
            return entry
    return None


def permissions_from(detail: dict[str, Any], keys: Any, api_key: str) -> KeyPermissions:
    entry = _match(keys, api_key)
    if entry is None:
        raise PermissionDeniedError(
            "gate: this key is not among the main account's keys, so its permissions cannot be read; "
            "use a main-account key with 'Account (read only)'",
            code="KEY_NOT_LISTED",
        )
    if str(entry.get("state", "1")) != "1":
        raise InvalidCredentialsError("gate: the key is locked or frozen", code=f"STATE_{entry.get('state')}")
    writable = {str(p.get("name")) for p in entry.get("perms") or [] if p.get("read_only") is False}
    present = {str(p.get("name")) for p in entry.get("perms") or []}
    ips = tuple(as_list(detail.get("ip_whitelist") or entry.get("ip_whitelist")))
    return KeyPermissions(
        read=bool(present),
        spot_trade="spot" in writable,
        withdraw="wallet" in writable,
        transfer="wallet" in writable,
        derivatives=bool(writable & {"futures", "delivery", "options", "copy"}),
        margin=bool(writable & {"margin", "loan"}),
        ip_restricted=bool(ips),
        ips=ips,
        labels=LABELS,
    )
