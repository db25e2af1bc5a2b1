"""Every page on a phone (390×844, Chromium): nothing wider than the screen, every navigation link
and settings tab on screen (no sideways scrolling needed to reach them), tables reflowed into
label/value cards, and a screenshot of each page in test-artifacts/browser/phone-*.png."""

from __future__ import annotations

import uuid

from dashboard_support import OPERATOR_EMAIL, LiveServer, log_in, open_page, register, shoot

WIDTH, HEIGHT = 390, 844
PAGES = [
    ("/app/overview", "#equity-chart[data-chart]", "overview"),
    ("/app/trades", "#profit", "trades"),
    ("/app/scanner", "#scan", "scanner"),
    ("/app/settings/exchange", "#connect-form", "settings-exchange"),
    ("/app/settings/risk", "#risk-form", "settings-risk"),
    ("/app/settings/notifications", "#tab-notifications > *", "settings-notifications"),
    ("/app/settings/subscription", "#subscription", "settings-subscription"),
    ("/app/settings/security", "#two-factor", "settings-security"),
    ("/app/settings/data-sharing", "#tab-data-sharing > *", "settings-data-sharing"),
]
# Elements whose right edge is past the screen, among those that must be reachable.
OFF_SCREEN = """sel => [...document.querySelectorAll(sel)]
  .filter(el => el.offsetParent !== null)
  .filter(el => { const r = el.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth + 1; })
  .map(el => el.textContent.trim())"""
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _check(page: object, name: str) -> None:
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    assert page.evaluate(OVERFLOW) <= 1, f"{name}: the page is wider than the phone"  # type: ignore[attr-defined]
    assert page.evaluate(OFF_SCREEN, "#nav a, #nav button, .tabs a, #topbar .status > *") == [], name  # type: ignore[attr-defined]
    shoot(page, f"phone-{name}")


def test_phone_layout_when_every_page_opened_then_fits_and_navigation_reachable(
    page: object, live_server: LiveServer
) -> None:
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})  # type: ignore[attr-defined]
    page.goto("/app/login")  # type: ignore[attr-defined]
    page.wait_for_selector("#email")  # type: ignore[attr-defined]
    _check(page, "login")
    page.goto("/app/register")  # type: ignore[attr-defined]
    page.wait_for_selector("#password-rules li")  # type: ignore[attr-defined]
    rules = page.inner_text("#password-rules")  # type: ignore[attr-defined]
    assert "at least 12 and at most 128 characters" in rules and "three of" in rules, rules  # from the API
    _check(page, "register")

    register(page, f"phone-{uuid.uuid4().hex[:8]}@example.com")
    open_page(page, "/app/settings/exchange", "#connect-sandbox")
    page.click("#connect-sandbox")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-connection] [data-status=connected]")  # type: ignore[attr-defined]
    for path, ready, name in PAGES:
        open_page(page, path, ready)
        _check(page, name)
    # Tables reflow: no header row on a phone, each cell labelled.
    open_page(page, "/app/scanner", "#gate")
    heads = "[...document.querySelectorAll('table.reflow thead')].map(t => t.offsetParent === null)"
    shown = page.evaluate(heads)  # type: ignore[attr-defined]
    assert shown and all(shown), "the tables keep their header rows on a phone"

    page.click("#logout")  # type: ignore[attr-defined]
    page.wait_for_url("**/app/login")  # type: ignore[attr-defined]
    log_in(page, OPERATOR_EMAIL)
    open_page(page, "/app/operator", "#audit")
    _check(page, "operator")
