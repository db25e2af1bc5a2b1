"""Errors a use case raises for the caller's user to act on; the web layer maps them to HTTP."""

from __future__ import annotations


class ServiceError(Exception):
    """`status` is the HTTP status the web layer answers with; `message` tells the user what to do."""

    def __init__(
        self, status: int, message: str, *, headers: dict[str, str] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.code = code  # a stable machine-readable reason for clients that branch on it (the login page)
