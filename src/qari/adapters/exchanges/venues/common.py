"""Small parsing helpers shared by the venue key probes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from qari.core.time import parse_utc


def as_list(value: Any) -> list[str]:
    """A list of tokens from a JSON array or a comma-separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, Iterable):
        return [str(v) for v in value if v is not None and str(v) != ""]
    return [str(value)]


def unrestricted(ips: Iterable[str]) -> bool:
    values = [ip for ip in ips if ip]
    return not values or values == ["*"] or "0.0.0.0/0" in values


def parse_iso(value: Any) -> dt.datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return parse_utc(value)
    except ValueError:
        return None


def from_ms(value: Any) -> dt.datetime | None:
    try:
        ms = int(value)
    except (TypeError, ValueError):
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC) if ms > 0 else None


def flag(data: dict[str, Any], name: str) -> bool | None:
    """A boolean field, or None when the venue left it out (callers treat unknown as not proven)."""
    value = data.get(name)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None
