"""Settings → Exchange lists the venues from `GET /api/v1/exchange/exchanges` (issue 15: one venue
list): the choices, the passphrase field and the watchdog note follow the server's venue data."""

from __future__ import annotations

import uuid

from dashboard_support import LiveServer, open_page, register

from qari.adapters.exchanges.capabilities import LIVE_VENUES


def test_exchange_settings_when_opened_then_venues_and_passphrase_follow_the_venue_data(
    page: object, live_server: LiveServer
) -> None:
    # Arrange
    register(page, f"venues-{uuid.uuid4().hex[:8]}@example.com")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))  # type: ignore[attr-defined]

    # Act
    open_page(page, "/app/settings/exchange", "#exchange")
    options = page.eval_on_selector_all("#exchange option", "els => els.map(e => e.value)")  # type: ignore[attr-defined]
    page.select_option("#exchange", "okx")  # type: ignore[attr-defined]
    okx_passphrase = page.is_visible("[data-field=passphrase]")  # type: ignore[attr-defined]
    page.select_option("#exchange", "mexc")  # type: ignore[attr-defined]
    mexc_passphrase = page.is_visible("[data-field=passphrase]")  # type: ignore[attr-defined]
    mexc_note = page.inner_text("#exchange-guide [data-spot-stop=none]")  # type: ignore[attr-defined]
    protocol_note = page.inner_text("#sandbox-protocol")  # type: ignore[attr-defined]

    # Assert: the sandbox first, then the live venues in the venue data's order
    assert options == ["sandbox", *LIVE_VENUES]
    assert okx_passphrase and not mexc_passphrase
    assert "watchdog" in mexc_note
    assert "Bybit v5" in protocol_note  # the sandbox's protocol (QARI_SANDBOX_PROTOCOL, default bybit)
    assert errors == []
