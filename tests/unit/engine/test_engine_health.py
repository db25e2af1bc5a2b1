from __future__ import annotations

import datetime as dt

from qari.core.errors import ExchangeUnavailableError, InvalidCredentialsError
from qari.engine.health import ExchangeState, HealthTracker, is_venue_fault

NOW = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def test_health_when_failures_repeat_then_degraded_and_entries_pause() -> None:
    health = HealthTracker(degrade_after=3)

    for _ in range(3):
        health.record_failure("bybit", ExchangeUnavailableError("502"), NOW)

    assert health.state("bybit") is ExchangeState.DEGRADED
    assert not health.allows_entries("bybit")


def test_health_when_maintenance_reported_then_maintenance_at_once() -> None:
    health = HealthTracker()

    health.record_failure("bybit", ExchangeUnavailableError("down", code="maintenance"), NOW)

    assert health.state("bybit") is ExchangeState.MAINTENANCE


def test_health_when_successes_follow_then_back_up() -> None:
    health = HealthTracker(degrade_after=1, recover_after=2)
    health.record_failure("bybit", ExchangeUnavailableError("502"), NOW)

    health.record_success("bybit", NOW)
    assert health.state("bybit") is ExchangeState.DEGRADED
    health.record_success("bybit", NOW)

    assert health.state("bybit") is ExchangeState.UP
    assert health.views()[0].as_dict()["state"] == "up"


def test_health_when_one_exchange_sick_then_other_unaffected() -> None:
    health = HealthTracker(degrade_after=1)

    health.record_failure("bybit", ExchangeUnavailableError("502"), NOW)

    assert health.allows_entries("binance")


def test_is_venue_fault_when_key_invalid_then_false() -> None:
    assert not is_venue_fault(InvalidCredentialsError("bad key"))
    assert is_venue_fault(ExchangeUnavailableError("timeout"))
