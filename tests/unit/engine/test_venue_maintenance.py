"""Maintenance codes are venue data (issue 15): the venue's error table says which of its codes mean
"under maintenance"; engine health reads the error's kind and knows no venue's codes."""

from __future__ import annotations

import datetime as dt
import json

import ccxt.async_support as ccxt

from qari.adapters.exchanges.errors import translate
from qari.core.errors import ExchangeMaintenanceError, ExchangeUnavailableError
from qari.engine.health import ExchangeState, HealthTracker

NOW = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def test_bybit_when_10016_then_maintenance_error_and_health_pauses_the_venue() -> None:
    body = json.dumps({"retCode": 10016, "retMsg": "Service is under maintenance.", "result": {}})
    error = translate("bybit", ccxt.ExchangeError("bybit"), body)
    health = HealthTracker()

    health.record_failure("bybit", error, NOW)

    assert isinstance(error, ExchangeMaintenanceError) and error.code == "10016"
    assert health.state("bybit") is ExchangeState.MAINTENANCE


def test_health_when_another_venue_sends_a_bybit_code_then_not_maintenance() -> None:
    # Bybit's maintenance code means nothing on another venue: health no longer matches venue codes.
    health = HealthTracker()

    health.record_failure("okx", ExchangeUnavailableError("okx: 10016 busy", code="10016"), NOW)

    assert health.state("okx") is not ExchangeState.MAINTENANCE


def test_translate_when_ccxt_reports_maintenance_then_maintenance_error() -> None:
    error = translate("gate", ccxt.OnMaintenance("gate"), None)
    assert isinstance(error, ExchangeMaintenanceError)
