"""Telegram Bot API client over plain HTTP (httpx): getMe, getUpdates, sendMessage.

The bot token is part of every request URL (`<base>/bot<token>/<method>`), so it must never reach logs or
exception text: errors carry only the method, status and Telegram's description with the token scrubbed,
and a logging filter rewrites httpx's request log lines.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import SecretStr

ErrorKind = Literal["rate_limited", "server", "network", "in_doubt", "forbidden", "rejected", "conflict"]
_TOKEN_IN_TEXT = re.compile(r"bot\d+:[A-Za-z0-9_-]+")


def scrub(text: str, token: str | None = None) -> str:
    if token:
        text = text.replace(token, "<token>")
    return _TOKEN_IN_TEXT.sub("bot<token>", text)


class _ScrubTokenFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "bot" in message:
            cleaned = scrub(message)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
        return True


_FILTER = _ScrubTokenFilter()


def install_log_scrubber() -> None:
    """httpx logs every request URL at INFO; scrub the token from those lines (idempotent)."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class TelegramError(Exception):
    """A failed Bot API call; `kind` drives the outbox's retry decision. Never contains the token."""

    def __init__(
        self,
        kind: ErrorKind,
        method: str,
        description: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.kind = kind
        self.method = method
        self.description = description
        self.status = status
        self.retry_after = retry_after
        super().__init__(
            f"telegram {method}: {kind}" + (f" ({status})" if status else "") + f": {description}"
        )


@dataclass(frozen=True)
class BotIdentity:
    id: int
    username: str


class TelegramClient:
    """One bot. `base_url` is Telegram's API (`https://api.telegram.org`) or a stand-in."""

    def __init__(
        self,
        token: SecretStr,
        base_url: str = "https://api.telegram.org",
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        install_log_scrubber()
        self._token = token
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False)

    def __repr__(self) -> str:
        return f"TelegramClient(base_url={self._base!r})"

    async def close(self) -> None:
        await self._http.aclose()

    async def get_me(self) -> BotIdentity:
        result = await self._call("getMe", {})
        return BotIdentity(id=int(result["id"]), username=str(result.get("username", "")))

    async def send_message(self, chat_id: int, text: str) -> int:
        """Returns Telegram's message_id."""
        payload = {"chat_id": chat_id, "text": text, "disable_web_page_preview": True}
        result = await self._call("sendMessage", payload)
        return int(result["message_id"])

    async def get_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        """Long poll: waits up to `timeout` seconds server-side for new updates."""
        payload: dict[str, Any] = {"timeout": timeout, "allowed_updates": ["message"]}
        if offset is not None:
            payload["offset"] = offset
        result = await self._call("getUpdates", payload, read_timeout=timeout + self._timeout)
        return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []

    async def _call(self, method: str, payload: dict[str, Any], read_timeout: float | None = None) -> Any:
        token = self._token.get_secret_value()
        url = f"{self._base}/bot{token}/{method}"
        timeout = httpx.Timeout(self._timeout, read=read_timeout or self._timeout)
        try:
            response = await self._http.post(url, json=payload, timeout=timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:
            # The request never left: certainly not delivered.
            raise TelegramError("network", method, type(e).__name__) from None
        except httpx.TransportError as e:
            # Sent, but the answer was lost: Telegram may have acted on it.
            raise TelegramError("in_doubt", method, type(e).__name__) from None
        return self._result(method, response, token)

    @staticmethod
    def _result(method: str, response: httpx.Response, token: str) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            kind: ErrorKind = "server" if response.status_code >= 500 else "rejected"
            raise TelegramError(kind, method, "no JSON answer", status=response.status_code)
        if body.get("ok") is True:
            return body.get("result")
        status = int(body.get("error_code") or response.status_code)
        description = scrub(str(body.get("description", "")), token)[:200]
        params = body.get("parameters")
        if not isinstance(params, dict):
            params = {}
        if status == 429:
            retry_after = float(params.get("retry_after", 1))
            raise TelegramError("rate_limited", method, description, status=status, retry_after=retry_after)
        if status >= 500:
            raise TelegramError("server", method, description, status=status)
        if status == 403:
            raise TelegramError("forbidden", method, description, status=status)
        if status == 409:
            raise TelegramError("conflict", method, description, status=status)
        raise TelegramError("rejected", method, description, status=status)
