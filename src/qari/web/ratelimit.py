"""Per-client request rate limits, kept in process memory with the `limits` library (moving window).

The client is the peer address uvicorn reports: behind a proxy listed in `FORWARDED_ALLOW_IPS` that is
the forwarded client address, otherwise the socket's peer.
"""

from __future__ import annotations

import time

from fastapi import Request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from qari.services.errors import ServiceError


class ClientRateLimit:
    """At most `rate` (e.g. `"10/hour"`) requests of one kind per client address; the next gets 429."""

    def __init__(self, rate: str, what: str) -> None:
        self._item: RateLimitItem = parse(rate)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._what = what

    def check(self, request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        if self._limiter.hit(self._item, self._what, client):
            return
        stats = self._limiter.get_window_stats(self._item, self._what, client)
        retry = max(1, int(stats.reset_time - time.time()) + 1)
        raise ServiceError(
            429,
            f"too many {self._what} from your address; try again in {retry} s",
            headers={"Retry-After": str(retry)},
        )


def registration_limit(request: Request) -> None:
    """Dependency of `POST /auth/register`: each registration costs an Argon2 hash (issue 16)."""
    limit: ClientRateLimit = request.app.state.registration_limit
    limit.check(request)
