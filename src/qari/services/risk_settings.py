"""A user's risk parameters: what each one means, its allowed range, and the per-field validation
behind `PUT /api/v1/settings/risk`.

Every field is checked on its own so the user sees one clear message per bad value, and the merged
result is checked for the rules that tie fields together (weekly limit ≥ daily limit, positions ≤ plan).
The platform's own limits are the loosest a user may choose: kill-switch limits can only be stricter
than −2R a day / −5R a week (PRODUCT.md §8) and the stop-loss stays inside the 10–30 % band (R4).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from qari.risk.stops import MAX_STOP_DISTANCE, MIN_STOP_DISTANCE

ALLOCATION_MODES = ("fixed", "percent")
MIN_TRADE_USDT = Decimal("5")
MAX_TRADE_USDT = Decimal("10000000")
MIN_PERCENT = Decimal("0.1")
MAX_PERCENT = Decimal("100")
# R4 in percent (10–30), stated once in risk/stops.py
STOP_LOSS_BAND = (
    (MIN_STOP_DISTANCE * 100).quantize(Decimal(1)),
    (MAX_STOP_DISTANCE * 100).quantize(Decimal(1)),
)
PLATFORM_DAILY_LIMIT_R = Decimal("2")
PLATFORM_WEEKLY_LIMIT_R = Decimal("5")
MIN_LIMIT_R = Decimal("0.1")
SPREAD_LIMIT_BPS = (1, 100)
COOLDOWN_HOURS = (1, 720)
MAX_BLACKLIST = 500
QUOTE = "USDT"
_SYMBOL = re.compile(r"^[A-Z0-9]{1,20}$")


@dataclass(frozen=True)
class RiskSettings:
    """One user's risk parameters, with the platform defaults."""

    auto_trading: bool = True
    allocation_mode: str = "percent"
    allocation_value: Decimal = Decimal("10")
    max_positions: int | None = None
    stop_loss_pct: Decimal = Decimal("15")
    personal_blacklist: tuple[str, ...] = field(default_factory=tuple)
    daily_loss_limit_r: Decimal = PLATFORM_DAILY_LIMIT_R
    weekly_loss_limit_r: Decimal = PLATFORM_WEEKLY_LIMIT_R
    spread_limit_bps: int = 30
    cooldown_hours: int = 24
    # The user's own blast-radius caps in USDT (None: the plan's); the guard keeps the lower.
    guard_order_cap_usdt: Decimal | None = None
    guard_day_cap_usdt: Decimal | None = None


class RiskSettingsError(ValueError):
    """Some submitted values are not allowed; `errors` maps each field to a sentence saying why."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


MAX_NUMBER_CHARS = 32
MAX_NUMBER_MAGNITUDE = 12  # no setting needs a power of ten beyond ±12


def _decimal(value: object) -> Decimal:
    """`value` as a Decimal, refused by size first: `int(Decimal("1e1000000"))` (or arithmetic on it)
    would block the shared event loop for tens of seconds (issue 16)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a number")
    if isinstance(value, int) and value.bit_length() > 64:
        raise ValueError("is far too large")
    text = value.strip() if isinstance(value, str) else str(value)
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"must be a number of at most {MAX_NUMBER_CHARS} characters")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    if number and abs(number.adjusted()) > MAX_NUMBER_MAGNITUDE:
        raise ValueError("is far too large or too small")
    return number


def _integer(value: object) -> int:
    number = _decimal(value)
    if number != number.to_integral_value():
        raise ValueError("must be a whole number")
    return int(number)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _in_range(number: Decimal, low: Decimal, high: Decimal, what: str) -> Decimal:
    if not low <= number <= high:
        raise ValueError(f"{what} must be between {low:f} and {high:f}")
    return number


def normalise_symbol(raw: object) -> str:
    """`doge`, `DOGEUSDT`, `DOGE-USDT` and `DOGE/USDT` all mean the spot pair `DOGE/USDT`."""
    if not isinstance(raw, str):
        raise ValueError("each entry must be a symbol such as DOGE or DOGE/USDT")
    text = raw.strip().upper().replace("-", "/").replace("_", "/")
    base = text.split("/", 1)[0] if "/" in text else text
    if "/" in text and text.split("/", 1)[1] != QUOTE:
        raise ValueError(f"{raw.strip()!r} is not a {QUOTE} pair; QARI trades {QUOTE} pairs only")
    if "/" not in text and text.endswith(QUOTE) and len(text) > len(QUOTE):
        base = text[: -len(QUOTE)]
    if not _SYMBOL.match(base):
        shown = raw.strip()[:30]
        raise ValueError(f"{shown!r} is not a symbol; use letters and digits, e.g. DOGE or DOGE/USDT")
    return f"{base}/{QUOTE}"


def _blacklist(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError('must be a list of symbols such as ["DOGE/USDT"]')
    if len(value) > MAX_BLACKLIST:
        raise ValueError(f"can hold at most {MAX_BLACKLIST} symbols")
    return tuple(sorted({normalise_symbol(item) for item in value}))


def _allocation_mode(value: object) -> str:
    if value not in ALLOCATION_MODES:
        raise ValueError("must be 'fixed' (a fixed USDT amount per trade) or 'percent' (a % of free USDT)")
    return str(value)


def _stop_loss(value: object) -> Decimal:
    low, high = STOP_LOSS_BAND
    number = _decimal(value)
    if not low <= number <= high:
        raise ValueError(f"stop-loss must be between {low:f} % and {high:f} % (never tighter, never wider)")
    return number


def _daily_limit(value: object) -> Decimal:
    number = _decimal(value)
    if number > PLATFORM_DAILY_LIMIT_R:
        raise ValueError(f"the daily limit can be stricter than {PLATFORM_DAILY_LIMIT_R:f}R, never looser")
    return _in_range(number, MIN_LIMIT_R, PLATFORM_DAILY_LIMIT_R, "the daily limit (in R)")


def _weekly_limit(value: object) -> Decimal:
    number = _decimal(value)
    if number > PLATFORM_WEEKLY_LIMIT_R:
        raise ValueError(f"the weekly limit can be stricter than {PLATFORM_WEEKLY_LIMIT_R:f}R, never looser")
    return _in_range(number, MIN_LIMIT_R, PLATFORM_WEEKLY_LIMIT_R, "the weekly limit (in R)")


def _whole_between(bounds: tuple[int, int], message: str) -> Callable[[object], int]:
    """A parser for a whole number within `bounds`; `message` names them as {low} and {high}."""

    def parse(value: object) -> int:
        number = _integer(value)
        low, high = bounds
        if not low <= number <= high:
            raise ValueError(message.format(low=low, high=high))
        return number

    return parse


_spread = _whole_between(
    SPREAD_LIMIT_BPS, "spread limit must be between {low} and {high} basis points (1 bp = 0.01 %)"
)
_cooldown = _whole_between(COOLDOWN_HOURS, "cooldown must be between {low} and {high} hours")


def _max_positions(value: object) -> int:
    number = _integer(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def _guard_cap(value: object) -> Decimal | None:
    """null: back to the plan's cap. A value above the plan's cap is kept but has no effect (the
    guard takes the lower, `qari.risk.guard.GuardLimits.for_plan`)."""
    if value is None:
        return None
    return _in_range(_decimal(value), MIN_TRADE_USDT, MAX_TRADE_USDT, "the cap (in USDT)")


_PARSERS: dict[str, Callable[[object], Any]] = {
    "auto_trading": _bool,
    "allocation_mode": _allocation_mode,
    "allocation_value": _decimal,
    "max_positions": _max_positions,
    "stop_loss_pct": _stop_loss,
    "personal_blacklist": _blacklist,
    "daily_loss_limit_r": _daily_limit,
    "weekly_loss_limit_r": _weekly_limit,
    "spread_limit_bps": _spread,
    "cooldown_hours": _cooldown,
    "guard_order_cap_usdt": _guard_cap,
    "guard_day_cap_usdt": _guard_cap,
}
FIELDS = tuple(_PARSERS)


def _check_allocation(settings: RiskSettings) -> str | None:
    value = settings.allocation_value
    if settings.allocation_mode == "fixed" and not MIN_TRADE_USDT <= value <= MAX_TRADE_USDT:
        return f"a fixed allocation must be between {MIN_TRADE_USDT:f} and {MAX_TRADE_USDT:f} USDT per trade"
    if settings.allocation_mode == "percent" and not MIN_PERCENT <= value <= MAX_PERCENT:
        return f"a percentage allocation must be between {MIN_PERCENT:f} % and {MAX_PERCENT:f} % of free USDT"
    return None


def apply_update(current: RiskSettings, update: Mapping[str, object], *, capacity: int) -> RiskSettings:
    """Return `current` with `update` applied, or raise `RiskSettingsError` naming every bad field.

    `capacity` is the user's plan capacity (maximum concurrent positions).
    """
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    for name, value in update.items():
        parser = _PARSERS.get(name)
        if parser is None:
            errors[name] = f"unknown setting; known settings are: {', '.join(FIELDS)}"
            continue
        try:
            changes[name] = parser(value)
        except ValueError as e:
            errors[name] = str(e)
    merged = replace(current, **changes)
    if "allocation_value" not in errors and "allocation_mode" not in errors:
        problem = _check_allocation(merged)
        if problem:
            errors["allocation_value"] = problem
    if "max_positions" in changes and merged.max_positions is not None and merged.max_positions > capacity:
        errors["max_positions"] = f"your plan allows at most {capacity} open positions"
    if (
        "weekly_loss_limit_r" not in errors
        and "daily_loss_limit_r" not in errors
        and merged.weekly_loss_limit_r < merged.daily_loss_limit_r
    ):
        errors["weekly_loss_limit_r"] = "the weekly limit cannot be stricter than the daily limit"
    if errors:
        raise RiskSettingsError(errors)
    return merged


def _trim(value: Any) -> Any:
    """`2.000000000000000000` (a Numeric column) reads back as `2`, and `12.50` as `12.5`."""
    if not isinstance(value, Decimal):
        return value
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def from_row(row: Any) -> RiskSettings:
    """The stored `user_settings` row as `RiskSettings` (a missing value takes the default)."""
    defaults = RiskSettings()
    values: dict[str, Any] = {name: _trim(getattr(row, name, None)) for name in FIELDS}
    values = {name: value for name, value in values.items() if value is not None or name == "max_positions"}
    values["personal_blacklist"] = tuple(values.get("personal_blacklist") or ())
    return replace(defaults, **values)


def to_row(settings: RiskSettings, row: Any) -> list[str]:
    """Copy `settings` onto the row; returns the names of the fields that changed."""
    changed: list[str] = []
    for name in FIELDS:
        value = getattr(settings, name)
        stored = list(value) if name == "personal_blacklist" else value
        if getattr(row, name, None) != stored:
            setattr(row, name, stored)
            changed.append(name)
    return changed


def limits(capacity: int) -> dict[str, dict[str, object]]:
    """The allowed range of every numeric setting, for forms to show before the user submits."""
    return {
        "allocation_value": {
            "fixed": {"min": str(MIN_TRADE_USDT), "max": str(MAX_TRADE_USDT), "unit": "USDT"},
            "percent": {"min": str(MIN_PERCENT), "max": str(MAX_PERCENT), "unit": "%"},
        },
        "max_positions": {"min": 1, "max": capacity},
        "stop_loss_pct": {"min": str(STOP_LOSS_BAND[0]), "max": str(STOP_LOSS_BAND[1])},
        "daily_loss_limit_r": {"min": str(MIN_LIMIT_R), "max": str(PLATFORM_DAILY_LIMIT_R)},
        "weekly_loss_limit_r": {"min": str(MIN_LIMIT_R), "max": str(PLATFORM_WEEKLY_LIMIT_R)},
        "spread_limit_bps": {"min": SPREAD_LIMIT_BPS[0], "max": SPREAD_LIMIT_BPS[1]},
        "cooldown_hours": {"min": COOLDOWN_HOURS[0], "max": COOLDOWN_HOURS[1]},
        "personal_blacklist": {"max_items": MAX_BLACKLIST},
        "guard_order_cap_usdt": {"min": str(MIN_TRADE_USDT), "max": str(MAX_TRADE_USDT), "unit": "USDT"},
        "guard_day_cap_usdt": {"min": str(MIN_TRADE_USDT), "max": str(MAX_TRADE_USDT), "unit": "USDT"},
    }
