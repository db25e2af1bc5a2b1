"""`GET /api/v1/exchange/exchanges` (issue 15): the one venue list, read from the venue data, with what
the settings page needs (passphrase, key guide, settings page) and each venue's spot-stop kind."""

from __future__ import annotations

from qari.adapters.exchanges.capabilities import LIVE_VENUES, VENUES
from qari.adapters.exchanges.venues import PROBES

from .conftest import Api


async def test_exchanges_when_listed_then_every_venue_from_the_venue_data(api: Api) -> None:
    # Act
    response = await api.client.get("/api/v1/exchange/exchanges", headers=api.headers)

    # Assert: every venue and its facts, as declared once in the venue data
    assert response.status_code == 200
    venues = {v["id"]: v for v in response.json()}
    assert list(venues) == list(VENUES)
    assert [v for v, row in venues.items() if row["live"]] == list(LIVE_VENUES)
    assert {v for v, row in venues.items() if row["needs_passphrase"]} == {"okx", "kucoin", "bitget"}
    assert (venues["htx"]["spot_stop"], venues["mexc"]["spot_stop"]) == ("stop_limit", "none")
    assert venues["bybit"]["spot_stop"] == "market_trigger"
    assert all(row["key_settings_page"] and row["key_guide"] for row in venues.values())
    assert "Withdraw" in venues["htx"]["key_never"]


def test_probes_when_derived_then_one_per_venue() -> None:
    assert set(PROBES) == set(VENUES) and PROBES["sandbox"] is PROBES["bybit"]
