"""Structured, secret-masking logging.

Every secret the process seals (stores) or opens (decrypts) is registered with `register_secret`; from
then on, for the life of the process, it is replaced by `***` in every log record: message, arguments,
exception text, tracebacks and stack info, at every level (debug included). Secrets a request merely
carries (passwords, pasted API keys, refused or not) are masked only in the records of that request
(`request_secret_scope` + `mask_in_request`): letting any client add to the process-wide list would let
a login with password `/api/v1/` rewrite every later log line, and a flood of them crowd real secrets
out of a bounded list (issue 16). Values that merely look like credentials in known headers and
parameters (Authorization, X-MBX-APIKEY, OK-ACCESS-KEY, apiKey=, secret=, password=, signature=...)
are masked too, registered or not.

Masking happens when a record is created (a log-record factory), before any handler or formatter
sees it, so third-party handlers and test capture get masked text as well.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

MASK = "***"
_MIN_SECRET_LEN = 4
_MAX_REQUEST_SECRETS = 64  # per request: a body with more secret-named fields gets its first 64 masked

_SECRET_NAMES = (
    r"authorization|proxy-authorization|cookie|set-cookie|x-csrf-token|"  # noqa: S105 - names, not a value
    r"x-mbx-apikey|ok-access-key|ok-access-sign|ok-access-passphrase|x-bapi-api-key|x-bapi-sign|"
    r"kc-api-key|kc-api-sign|kc-api-passphrase|access-key|access-sign|access-passphrase|"
    r"x-bm-key|x-bm-sign|key|sign|signature|x-signature|apikey|api[_-]?key|api[_-]?secret|secret|"
    r"secret[_-]?key|password|new_password|current_password|passphrase|passwd|token|access_token|"
    r"refresh_token|bot_token|totp_code|otp|private[_-]?key|accesskeyid|qari_session|qari_csrf"
)
# name=value / name: value / "name": "value" (JSON) forms; the value runs to a delimiter.
_NAMED_VALUE = re.compile(
    rf"""(?ix)
    (?P<name>["']?\b(?:{_SECRET_NAMES})\b["']?)
    (?P<sep>\s*[:=]\s*)
    (?P<quote>["']?)
    (?P<value>(?:Bearer\s+|Basic\s+)?[^\s"'&,;}}\]]+)
    """
)
_BEARER = re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_TELEGRAM_BOT = re.compile(r"bot\d{5,}:[A-Za-z0-9_-]{20,}")


class _SecretRegistry:
    """Process-wide set of the secrets this process stored or decrypted; never evicted (their number
    is bounded by the stored connections and TOTP seeds, and each can appear in a log at any time).

    Indexed by each value's first characters, so masking costs one dict lookup per character of the
    text whatever the number of secrets (a regex alternation of thousands of values is far slower).
    """

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._index: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if len(value) < _MIN_SECRET_LEN:
            return
        with self._lock:
            if value in self._values:
                return
            self._values.add(value)
            bucket = list(self._index.get(value[:_MIN_SECRET_LEN], ()))
            bucket.append(value)
            bucket.sort(key=len, reverse=True)  # longest match first at any position
            self._index[value[:_MIN_SECRET_LEN]] = bucket  # replaced whole: readers never lock

    def mask(self, text: str) -> str:
        index = self._index
        if not index:
            return text
        parts: list[str] = []
        last = i = 0
        end = len(text) - _MIN_SECRET_LEN
        while i <= end:
            candidates = index.get(text[i : i + _MIN_SECRET_LEN])
            if candidates:
                for value in tuple(candidates):
                    if text.startswith(value, i):
                        parts.append(text[last:i])
                        parts.append(MASK)
                        i = last = i + len(value)
                        break
                else:
                    i += 1
            else:
                i += 1
        if not parts:
            return text
        parts.append(text[last:])
        return "".join(parts)


_registry = _SecretRegistry()


def _variants(value: str) -> set[str]:
    """`value` and its URL-encoded and JSON-escaped forms (how it appears in logged requests)."""
    from urllib.parse import quote, quote_plus

    return {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}


def register_secret(value: str | None) -> None:
    """Mask `value` in every log record from now on. Only for secrets this process stored or decrypted;
    a value a request merely carries goes to `mask_in_request`."""
    if not value:
        return
    for variant in _variants(value):
        _registry.add(variant)


_request_secrets: ContextVar[set[str] | None] = ContextVar("qari_request_secrets", default=None)


@contextmanager
def request_secret_scope() -> Iterator[None]:
    """Within this block (one request: its task, and threads started from it) values given to
    `mask_in_request` are masked; afterwards they are forgotten."""
    token = _request_secrets.set(set())
    try:
        yield
    finally:
        _request_secrets.reset(token)


def mask_in_request(value: str | None) -> None:
    """Mask `value` in the log records of the current request only (a password, a pasted API key).

    Outside a request (a CLI command run by the operator) it joins the process-wide list instead.
    """
    if not value or len(value) < _MIN_SECRET_LEN:
        return
    scope = _request_secrets.get()
    if scope is None:
        register_secret(value)
    elif len(scope) < _MAX_REQUEST_SECRETS * 4:
        scope.update(v for v in _variants(value) if len(v) >= _MIN_SECRET_LEN)


def _mask_request_secrets(text: str) -> str:
    scope = _request_secrets.get()
    if not scope:
        return text
    for value in sorted(scope, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


def mask_text(text: str) -> str:
    """`text` with registered secrets and credential-shaped values replaced by `***`."""
    if not text:
        return text
    text = _mask_request_secrets(_registry.mask(text))
    text = _NAMED_VALUE.sub(lambda m: f"{m['name']}{m['sep']}{m['quote']}{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _TELEGRAM_BOT.sub("bot" + MASK, text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return mask_text(repr(value) if not isinstance(value, Exception) else str(value))


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Render and mask the record in place: message, args, exception/stack text and extra fields.

    Idempotent: the record factory calls it before `extra=` fields are attached, handler filters
    call it again afterwards.
    """
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not drop the record
        message = f"{record.msg!r} % {record.args!r}"
    record.msg = mask_text(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = mask_text(text)
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = mask_text(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)
    for name, value in list(record.__dict__.items()):
        if name not in _STANDARD_ATTRS and not name.startswith("_"):
            record.__dict__[name] = _mask_value(value)
    return record


_STANDARD_ATTRS = frozenset(logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__) | {
    "message",
    "asctime",
}


class SecretMaskingFilter(logging.Filter):
    """For handlers created outside `configure_logging` (the record factory covers the rest)."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


_installed = False
_install_lock = threading.Lock()


def install_secret_masking() -> None:
    """Idempotently wrap the log-record factory so every record is masked at creation."""
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return mask_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        mask_record(record)
        body: dict[str, Any] = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD_ATTRS and not name.startswith("_"):
                body[name] = (
                    value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
                )
        if record.exc_text:
            body["exc"] = record.exc_text
        return json.dumps(body, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        mask_record(record)
        extras = " ".join(
            f"{name}={value}"
            for name, value in record.__dict__.items()
            if name not in _STANDARD_ATTRS and not name.startswith("_")
        )
        at = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        line = f"{at} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line += " | " + extras
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + record.stack_info
        return line


def configure_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Root logging for the process: one stderr handler, structured, secret-masked."""
    install_secret_masking()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else KeyValueFormatter())
    handler.addFilter(SecretMaskingFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_qari", False)]:
        root.removeHandler(old)
    handler._qari = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # Driver chatter (SQL parameters, every aiosqlite call) stays out even at DEBUG.
    for name, quiet in (
        ("sqlalchemy.engine", logging.WARNING),
        ("aiosqlite", logging.INFO),
        ("asyncio", logging.INFO),
    ):
        logging.getLogger(name).setLevel(quiet)


def get_logger(name: str) -> logging.Logger:
    install_secret_masking()
    return logging.getLogger(name)
