"""Alert texts: short plain English built only from known fields, each value cleaned and secret-scrubbed.

Only keys listed in `_FIELDS` are ever shown, so a caller that puts something private into `data` cannot
leak it by accident; values that look like keys or tokens are replaced as a second line of defence.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from qari.core.redact import clean

TITLES: dict[str, str] = {
    "entry_leg1": "Entry leg 1 filled",
    "entry_leg2": "Entry leg 2 filled",
    "stop_loss": "Stop-loss hit",
    "pt1": "Profit target 1 hit",
    "pt2": "Profit target 2 hit",
    "trailing_exit": "Trailing stop exit",
    "kill_switch_tripped": "Kill switch tripped: trading is stopped",
    "kill_switch_cleared": "Kill switch cleared: trading may resume",
    "key_invalid": "Your exchange API key is no longer valid: trading is stopped",
    "key_permissions_changed": "Your exchange API key permissions changed: trading is stopped",
    "exchange_unreachable": "Exchange unreachable",
    "trial_ending": "Your QARI trial is ending",
    "guard_refused": "Order refused by the blast-radius guard",
    "guard_halt": "Trading halted: activity outside QARI",
    "model_trained": "Learning: a new Stage 2 version was trained",
}
ADVICE: dict[str, str] = {
    "key_invalid": "Connect a new key in Settings → Exchange.",
    "key_permissions_changed": "Check the key on the exchange (no withdrawal rights) and reconnect it.",
    "kill_switch_tripped": "Open the dashboard for details.",
    "guard_halt": "Check the key on the exchange; revoke it if you did not place this order.",
}

# (key, label) in display order; symbol goes into the title line.
_FIELDS: tuple[tuple[str, str], ...] = (
    ("exchange", "Exchange"),
    ("side", "Side"),
    ("size", "Size"),
    ("price", "Price"),
    ("entry", "Entry"),
    ("stop", "Stop"),
    ("target", "Target"),
    ("reason", "Reason"),
    ("detail", "Detail"),
    ("since", "Since"),
    ("ends_at", "Ends"),
)
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def _number(value: str, places: int | None = None) -> str:
    """Decimal strings without trailing zeros (money columns carry 18 places); `places` rounds."""
    if not _NUMBER.match(value):
        return value
    amount = Decimal(value)
    if places is not None:
        amount = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return f"{amount:f}"
    text = f"{amount.normalize():f}"
    return text


def _signed(value: str, places: int) -> str:
    text = _number(value, places)
    return text if text.startswith(("-", "+")) else "+" + text


def render(kind: str, data: dict[str, str], *, repeat: bool = False) -> str:
    """The message for one alert; `repeat` marks a resend whose first attempt may have arrived."""
    fields = {k: clean(v) for k, v in data.items() if isinstance(v, str) and v.strip()}
    for key in ("size", "price", "entry", "stop", "target"):
        if key in fields:
            fields[key] = _number(fields[key])
    title = TITLES.get(kind, "QARI alert")
    if "symbol" in fields:
        title = f"{title} — {fields['symbol']}"
    if fields.get("mode") == "sandbox":
        title = "[sandbox] " + title
    lines = [title]
    lines += [f"{label}: {fields[key]}" for key, label in _FIELDS if key in fields]
    parts = [
        f"{_signed(fields[key], 2)}{unit}"
        for key, unit in (("pnl_usdt", " USDT"), ("pnl_r", "R"))
        if _NUMBER.match(fields.get(key, ""))
    ]
    if parts:
        lines.append("P&L: " + " / ".join(parts))
    if kind in ADVICE:
        lines.append(ADVICE[kind])
    if repeat:
        lines.append("(Resent after a restart; you may have received this already.)")
    return "\n".join(lines)
