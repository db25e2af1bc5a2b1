"""Every dashboard page, logged in: rendered without script errors, from this server alone, with a
screenshot of each (test-artifacts/browser/)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from dashboard_support import OPERATOR_EMAIL, LiveServer, RequestLog, log_in, open_page, register, shoot

PAGES = [
    ("/app/overview", "#equity-chart[data-chart]", "01-overview"),
    ("/app/trades", "#trade-list", "02-trades"),
    ("/app/scanner", "#scan", "03-scanner"),
    ("/app/settings/exchange", "#tab-exchange > *", "04-settings-exchange"),
    ("/app/settings/risk", "#risk-form", "05-settings-risk"),
    ("/app/settings/notifications", "#tab-notifications > *", "06-settings-notifications"),
    ("/app/settings/subscription", "#subscription", "07-settings-subscription"),
    ("/app/settings/security", "#two-factor", "08-settings-security"),
    ("/app/settings/data-sharing", "#tab-data-sharing > *", "09-settings-data-sharing"),
]


@pytest.fixture
def errors(page: object) -> list[str]:
    found: list[str] = []
    page.on("pageerror", lambda error: found.append(str(error)))  # type: ignore[attr-defined]
    return found


def test_pages_when_logged_in_then_rendered_from_localhost_only(
    page: object, live_server: LiveServer, requests_seen: RequestLog, errors: list[str]
) -> None:
    email = f"pages-{uuid.uuid4().hex[:8]}@example.com"
    register(page, email)
    for path, ready, name in PAGES:
        open_page(page, path, ready)
        page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
        shoot(page, name)
    open_page(page, "/app/settings/exchange", "#connect-sandbox")
    page.click("#connect-sandbox")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-connection] [data-status=connected]")  # type: ignore[attr-defined]
    assert errors == []
    assert requests_seen.outside == []
    assert all(url.startswith(live_server.url) for url in requests_seen.urls if url.startswith("http"))
    assert page.is_hidden("#nav-operator")  # type: ignore[attr-defined]
    page.click("#logout")  # type: ignore[attr-defined]
    page.wait_for_url("**/app/login")  # type: ignore[attr-defined]
    log_in(page, OPERATOR_EMAIL)
    open_page(page, "/app/operator", "#users")
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    assert OPERATOR_EMAIL in page.inner_text("#users")  # type: ignore[attr-defined]
    # Users with plan and connection status: this user connected the sandbox, the operator did not.
    connected = page.wait_for_selector(f'[data-user-connection="{email}"] [data-status=connected]')  # type: ignore[attr-defined]
    assert "QARI Sandbox" in page.inner_text(f'[data-user-connection="{email}"]')  # type: ignore[attr-defined]
    assert connected.inner_text() == "Connected"
    none = page.inner_text(f'[data-user-connection="{OPERATOR_EMAIL}"] [data-status=none]')  # type: ignore[attr-defined]
    assert none == "Not connected"
    user_row = page.locator("#users tr", has_text=email)  # type: ignore[attr-defined]
    assert user_row.locator("select").input_value() == "trial"
    assert "free trial" in user_row.inner_text()
    shoot(page, "10-operator")
    openapi = httpx.get(f"{live_server.url}/openapi.json").json()
    assert requests_seen.api_calls, "the pages made no API call"
    assert requests_seen.undocumented_api_calls(openapi) == []


def test_overview_when_phone_viewport_then_no_horizontal_scroll(
    page: object, live_server: LiveServer, errors: list[str]
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})  # type: ignore[attr-defined]
    register(page, f"phone-{uuid.uuid4().hex[:8]}@example.com")
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    shoot(page, "11-overview-phone")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")  # type: ignore[attr-defined]
    assert overflow <= 1
    assert errors == []
