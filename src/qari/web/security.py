"""Web-session conventions: cookie and header names, safe methods, constant-time comparison."""

from __future__ import annotations

import hmac

SESSION_COOKIE = "qari_session"
CSRF_COOKIE = "qari_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
