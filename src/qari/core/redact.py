"""An alert value made safe to show and store: one line, secret-looking runs redacted, bounded length.

Pure, so both the alert store (persistence) and the message renderer (notify) use the same rule
without one adapter importing the other.
"""

from __future__ import annotations

import re

_MAX_VALUE = 80
_RUN = r"[A-Za-z0-9+/=_-]"
# Telegram bot tokens; runs of key-like characters mixing letters and digits from 16 chars (Bybit keys
# are 18); any such run from 32 chars. Plain long numbers (prices with many decimals) stay readable.
_SECRETISH = re.compile(
    rf"\d{{6,}}:[A-Za-z0-9_-]{{20,}}"
    rf"|(?<!{_RUN})(?=[A-Za-z0-9+/=_-]*[A-Za-z])(?=[A-Za-z0-9+/=_-]*\d){_RUN}{{16,}}(?!{_RUN})"
    rf"|{_RUN}{{32,}}"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
REDACTED = "[redacted]"


def clean(value: str) -> str:
    """The value as an alert may carry it: one line, no secret-looking runs, at most 80 characters."""
    text = _CONTROL.sub(" ", value).strip()
    text = _SECRETISH.sub(REDACTED, text)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"
