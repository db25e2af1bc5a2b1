"""Settings → Risk parameters in the browser: bad values get inline messages, good ones are saved."""

from __future__ import annotations

import uuid

import httpx
from dashboard_support import LiveServer, open_page, register, shoot


def test_risk_tab_when_bad_values_then_inline_messages_and_nothing_saved_then_good_values_saved(
    page: object, live_server: LiveServer
) -> None:
    register(page, f"risk-{uuid.uuid4().hex[:8]}@example.com")
    open_page(page, "/app/settings/risk", "#risk-form")
    page.fill("#stop_loss_pct", "45")  # type: ignore[attr-defined]
    page.fill("#daily_loss_limit_r", "3")  # type: ignore[attr-defined]
    page.fill("#max_positions", "12")  # type: ignore[attr-defined]
    page.click("#save-risk")  # type: ignore[attr-defined]
    page.wait_for_selector("#risk-rejected")  # type: ignore[attr-defined]
    assert "10 % and 30 %" in page.inner_text("#stop_loss_pct-error")  # type: ignore[attr-defined]
    assert "never looser" in page.inner_text("#daily_loss_limit_r-error")  # type: ignore[attr-defined]
    assert "at most 5" in page.inner_text("#max_positions-error")  # type: ignore[attr-defined]
    assert page.get_attribute("#stop_loss_pct", "aria-invalid") == "true"  # type: ignore[attr-defined]
    shoot(page, "05b-settings-risk-rejected")

    page.fill("#stop_loss_pct", "12")  # type: ignore[attr-defined]
    page.fill("#daily_loss_limit_r", "1.5")  # type: ignore[attr-defined]
    page.fill("#max_positions", "4")  # type: ignore[attr-defined]
    page.select_option("#allocation_mode", "fixed")  # type: ignore[attr-defined]
    page.fill("#allocation_value", "100")  # type: ignore[attr-defined]
    page.fill("#personal_blacklist", "doge, pepeusdt")  # type: ignore[attr-defined]
    page.click("#save-risk")  # type: ignore[attr-defined]
    page.wait_for_selector("#risk-saved")  # type: ignore[attr-defined]
    assert page.inner_text("#stop_loss_pct-error") == ""  # type: ignore[attr-defined]
    assert page.input_value("#personal_blacklist") == "DOGE/USDT, PEPE/USDT"  # type: ignore[attr-defined]
    shoot(page, "05c-settings-risk-saved")

    cookies = {c["name"]: c["value"] for c in page.context.cookies()}  # type: ignore[attr-defined]
    saved = httpx.get(f"{live_server.url}/api/v1/settings/risk", cookies=cookies).json()
    assert saved["stop_loss_pct"] == "12"
    assert saved["daily_loss_limit_r"] == "1.5"
    assert saved["max_positions"] == 4
    assert saved["allocation_mode"] == "fixed"
