"""Per-exchange health: entries pause on a sick venue, exits and stops never do.

States move on evidence from real calls: consecutive failures degrade an exchange, a maintenance
answer marks it under maintenance, and a run of successes brings it back up. "Now" is passed in,
so the tracker behaves the same under the wall clock and a simulated one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from qari.core.errors import ExchangeMaintenanceError, ExchangeUnavailableError, QariError


class ExchangeState(StrEnum):
    UP = "up"
    DEGRADED = "degraded"
    MAINTENANCE = "maintenance"


# Venue-neutral markers only: each venue's own maintenance codes are in its error table
# (`adapters/exchanges/errors.py`), which raises `ExchangeMaintenanceError` for them.
MAINTENANCE_CODES = frozenset({"maintenance", "503"})


@dataclass(slots=True)
class _Record:
    state: ExchangeState = ExchangeState.UP
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    since: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ExchangeHealthView:
    exchange_id: str
    state: ExchangeState
    consecutive_failures: int
    last_error: str | None
    last_success_at: dt.datetime | None

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
        }


@dataclass(slots=True)
class HealthTracker:
    """Tracks every exchange the engine talks to; one instance per engine."""

    degrade_after: int = 3
    recover_after: int = 2
    _records: dict[str, _Record] = field(default_factory=dict)

    def _record(self, exchange_id: str) -> _Record:
        return self._records.setdefault(exchange_id, _Record())

    def record_success(self, exchange_id: str, now: dt.datetime) -> None:
        record = self._record(exchange_id)
        record.consecutive_failures = 0
        record.consecutive_successes += 1
        record.last_success_at = now
        if record.state is not ExchangeState.UP and record.consecutive_successes >= self.recover_after:
            record.state = ExchangeState.UP
            record.since = now

    def record_failure(self, exchange_id: str, error: BaseException, now: dt.datetime) -> None:
        record = self._record(exchange_id)
        record.consecutive_successes = 0
        record.consecutive_failures += 1
        record.last_error = type(error).__name__
        record.last_error_at = now
        if is_maintenance(error):
            new_state = ExchangeState.MAINTENANCE
        elif record.consecutive_failures >= self.degrade_after:
            new_state = ExchangeState.DEGRADED
        else:
            return
        if record.state is not new_state:
            record.state = new_state
            record.since = now

    def state(self, exchange_id: str) -> ExchangeState:
        return self._record(exchange_id).state

    def allows_entries(self, exchange_id: str) -> bool:
        """New entries only on a healthy venue; management (exits, stops) is never gated by this."""
        return self.state(exchange_id) is ExchangeState.UP

    def views(self) -> list[ExchangeHealthView]:
        return [
            ExchangeHealthView(name, r.state, r.consecutive_failures, r.last_error, r.last_success_at)
            for name, r in sorted(self._records.items())
        ]


def is_maintenance(error: BaseException) -> bool:
    if isinstance(error, ExchangeMaintenanceError):
        return True
    if isinstance(error, ExchangeUnavailableError):
        code = (error.code or "").lower()
        return code in MAINTENANCE_CODES or "maintenance" in str(error).lower()
    return False


def is_venue_fault(error: BaseException) -> bool:
    """Errors that say something about the venue's health (not about one user's key)."""
    return isinstance(error, ExchangeUnavailableError | TimeoutError) or (
        isinstance(error, QariError) and error.code == "timeout"
    )
