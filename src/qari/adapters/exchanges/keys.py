"""One model for "what can this API key do", and the decision rule of PRODUCT.md §3.2 / R3.

Each venue module turns its key-info payload into `KeyPermissions`, naming every flag the way the
exchange's own settings page does (`labels`) so the verdict can tell the user exactly what to change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class KeyStatus(StrEnum):
    CONNECTED = "connected"
    INVALID_CREDENTIALS = "invalid_credentials"
    KEY_OR_IP_REJECTED = "key_or_ip_rejected"  # the venue cannot say which: the key, or the server's IP
    PERMISSIONS_ERROR = "permissions_error"
    UNREACHABLE = "unreachable"  # transient: network, maintenance, clock; never a verdict on the key


# Generic permission names used in `KeyPermissions.labels` and in messages.
READ = "read"
SPOT_TRADE = "spot_trade"
WITHDRAW = "withdraw"
TRANSFER = "transfer"
DERIVATIVES = "derivatives"
MARGIN = "margin"

_GENERIC_NAMES = {
    READ: "Read",
    SPOT_TRADE: "Spot Trading",
    WITHDRAW: "Withdraw",
    TRANSFER: "Transfer",
    DERIVATIVES: "Derivatives trading",
    MARGIN: "Margin trading",
}


@dataclass(frozen=True, slots=True)
class KeyPermissions:
    """`None` means the exchange did not say; a forbidden flag that is unknown counts as enabled."""

    read: bool | None
    spot_trade: bool | None
    withdraw: bool | None
    transfer: bool | None
    derivatives: bool | None
    margin: bool | None = False
    ip_restricted: bool | None = None
    ips: tuple[str, ...] = ()
    expires_at: dt.datetime | None = None
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    extra_forbidden: tuple[str, ...] = ()  # venue-specific forbidden flags found enabled, already worded

    def label(self, permission: str) -> str:
        return self.labels.get(permission, _GENERIC_NAMES[permission])


@dataclass(frozen=True, slots=True)
class KeyCheck:
    status: KeyStatus
    detail: str
    permissions: KeyPermissions | None = None
    code: str | None = None  # the exchange's raw error code, when the verdict came from one
    missing: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()

    @property
    def connected(self) -> bool:
        return self.status is KeyStatus.CONNECTED


def decide(permissions: KeyPermissions, *, exchange_name: str, settings_page: str) -> KeyCheck:
    """Connected only with Read + Spot Trading and nothing that can move funds or trade derivatives."""
    missing = tuple(
        permissions.label(p)
        for p, value in ((READ, permissions.read), (SPOT_TRADE, permissions.spot_trade))
        if value is not True
    )
    forbidden = tuple(
        permissions.label(p)
        for p, value in (
            (WITHDRAW, permissions.withdraw),
            (TRANSFER, permissions.transfer),
            (DERIVATIVES, permissions.derivatives),
            (MARGIN, permissions.margin),
        )
        if value is not False
    ) + tuple(permissions.extra_forbidden)
    if not missing and not forbidden:
        restricted = "IP-restricted" if permissions.ip_restricted else "not IP-restricted"
        return KeyCheck(
            KeyStatus.CONNECTED, f"Connected: Read + Spot Trading, {restricted}.", permissions=permissions
        )
    parts: list[str] = []
    if forbidden:
        parts.append(
            "QARI never accepts a key that can move funds or trade derivatives. Disable "
            + ", ".join(f"'{name}'" for name in forbidden)
        )
    if missing:
        parts.append("Enable " + ", ".join(f"'{name}'" for name in missing))
    detail = f"{'; '.join(parts)} in {settings_page}, then try again. The key was not stored."
    return KeyCheck(
        KeyStatus.PERMISSIONS_ERROR, detail, permissions=permissions, missing=missing, forbidden=forbidden
    )


def labels(**names: str) -> Mapping[str, str]:
    return MappingProxyType(dict(names))
