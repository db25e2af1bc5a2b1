"""The dashboard shell before anyone logs in: it loads from this server alone, on a phone too."""

from __future__ import annotations

from dashboard_support import LiveServer, RequestLog, shoot


def test_login_page_when_opened_then_rendered_from_localhost_only(
    page: object, live_server: LiveServer, requests_seen: RequestLog
) -> None:
    page.goto("/")  # type: ignore[attr-defined]
    page.wait_for_selector("form h1")  # type: ignore[attr-defined]
    assert page.url.endswith("/app/login")  # type: ignore[attr-defined]
    assert "Log in" in page.inner_text("h1")  # type: ignore[attr-defined]
    shoot(page, "00-login")
    assert requests_seen.outside == []
    assert any(url.endswith("/app/vendor/lightweight-charts.js") for url in requests_seen.urls)
