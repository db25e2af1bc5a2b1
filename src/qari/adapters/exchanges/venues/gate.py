"""Gate v4: `GET /api/v4/account/detail` (IP whitelist) + `GET /api/v4/account/main_keys` (permissions).

Both need the key's "Account" read permission; without it permissions cannot be proven and the key is
refused with that instruction. `main_keys` lists every main-account key masked, matched by its
visible head and tail (a sub-account key is not listed there).
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


def _entries(keys: Any) -> list[dict[str, Any]]:
    """The listed keys: the documented array, one object (some SDK versions), or either under `data`."""
    if isinstance(keys, dict) and "perms" not in keys and "data" in keys:
        keys = keys["data"]
    entries = keys if isinstance(keys, list) else [keys]
    return [e for e in entries if isinstance(e, dict)]


def _matches(masked: str, api_key: str) -> bool:
    """`masked` is the key with some characters replaced by `*` (at the end or in the middle)."""
    if "*" not in masked:
        return bool(masked) and masked == api_key
    head, tail = masked.split("*", 1)[0], masked.rsplit("*", 1)[1]
    return bool(head or tail) and api_key.startswith(head) and api_key.endswith(tail)


def _match(keys: Any, api_key: str) -> dict[str, Any] | None:
    found = [e for e in _entries(keys) if _matches(str(e.get("key") or ""), api_key)]
    return found[0] if len(found) == 1 else None  # none, or ambiguous: not proven


def _read_only(perm: dict[str, Any]) -> bool | None:
    """`read_only` as Gate sends it (a boolean; tolerated as "true"/"false" or 1/0); None if absent."""
    value = perm.get("read_only")
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "0", "1"):
        return value.lower() in ("true", "1")
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
    perms = [p for p in entry.get("perms") or [] if isinstance(p, dict)]
    present = {str(p.get("name")) for p in perms}
    # Trading needs write proven; a forbidden permission counts as writable unless proven read-only.
    writable = {str(p.get("name")) for p in perms if _read_only(p) is False}
    maybe_writable = {str(p.get("name")) for p in perms if _read_only(p) is not True}
    ips = tuple(as_list(detail.get("ip_whitelist") or entry.get("ip_whitelist")))
    return KeyPermissions(
        read=bool(present),
        spot_trade="spot" in writable,
        withdraw="wallet" in maybe_writable,
        transfer="wallet" in maybe_writable,
        derivatives=bool(maybe_writable & {"futures", "delivery", "options", "copy"}),
        margin=bool(maybe_writable & {"margin", "loan"}),
        ip_restricted=bool(ips),
        ips=ips,
        labels=LABELS,
    )
