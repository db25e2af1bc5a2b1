"""The user's journey in a real browser against a real server (sandbox engine accelerated):
register → connect the sandbox → Connected → a withdraw-enabled key is refused with Permissions Error
naming Withdraw → risk parameters (bad values rejected inline) → a trade appears with its explanation
without a reload → log out. Screenshots of each step go to test-artifacts/browser/."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

import httpx
import pytest
from dashboard_support import LiveServer, RequestLog, open_page, record_journal_trade, register, shoot

TRADE_WAIT_MS = int(os.environ.get("QARI_BROWSER_TRADE_WAIT_MS", "600000"))


def _sandbox_key(server: LiveServer, permissions: dict[str, list[str]]) -> dict[str, str]:
    body = {"permissions": permissions, "read_only": 0, "ips": ["*"], "balances": {"USDT": "10000"}}
    response = httpx.post(f"{server.sandbox_url}/admin/keys", json=body, timeout=10)
    assert response.status_code in (200, 201), response.text
    keys: dict[str, str] = response.json()
    return keys


def _sandbox_symbol(server: LiveServer) -> str:
    info = httpx.get(f"{server.sandbox_url}/v5/market/instruments-info", params={"category": "spot"}).json()
    first = info["result"]["list"][0]
    return f"{first['baseCoin']}/{first['quoteCoin']}"


def _cookies(page: object) -> dict[str, str]:
    return {c["name"]: c["value"] for c in page.context.cookies()}  # type: ignore[attr-defined]


def _user_id(page: object, server: LiveServer) -> int:
    user_id: int = httpx.get(f"{server.url}/api/v1/me", cookies=_cookies(page), timeout=10).json()["id"]
    return user_id


def _see_a_trade_appear_live(page: object, make_trade: Callable[[], None], wait_ms: int) -> None:
    """The Trades page is open; a trade is made; it shows up with its explanation, no reload."""
    open_page(page, "/app/trades", "#trade-list")
    page.evaluate("window.__qariNoReload = 'still here'")  # type: ignore[attr-defined]
    make_trade()
    trade = page.wait_for_selector("details.trade", timeout=wait_ms)  # type: ignore[attr-defined]
    assert page.evaluate("window.__qariNoReload") == "still here"  # type: ignore[attr-defined]
    trade.click()
    explanation = page.wait_for_selector("details.trade[open] [data-testid=explanation]")  # type: ignore[attr-defined]
    assert len(explanation.inner_text()) > 20
    assert explanation.inner_text() != "No explanation recorded."
    assert page.query_selector("details.trade[open] table")  # type: ignore[attr-defined]
    shoot(page, "23-journey-trade")
    open_page(page, "/app/overview", "#positions")
    shoot(page, "24-journey-overview")
    open_page(page, "/app/scanner", "#scan")
    shoot(page, "25-journey-scanner")


def test_journey_when_user_connects_sandbox_and_trades_then_dashboard_shows_it_live(
    page: object, live_server: LiveServer, requests_seen: RequestLog
) -> None:
    openapi = httpx.get(f"{live_server.url}/openapi.json").json()
    assert "/api/v1/exchange/connections" in openapi["paths"]
    assert httpx.get(f"{live_server.sandbox_url}/v5/market/time", timeout=5).status_code == 200
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))  # type: ignore[attr-defined]
    register(page, f"journey-{uuid.uuid4().hex[:8]}@example.com")

    # Connect the sandbox with one click and see Connected.
    open_page(page, "/app/settings/exchange", "#connect-sandbox")
    assert page.inner_text("#egress-ip") == "127.0.0.1"  # type: ignore[attr-defined]
    page.click("#connect-sandbox")  # type: ignore[attr-defined]
    connected = page.wait_for_selector("[data-connection] [data-status=connected]")  # type: ignore[attr-defined]
    assert connected.inner_text() == "Connected"
    page.wait_for_selector("#conn-badge.good")  # type: ignore[attr-defined]
    shoot(page, "20-journey-connected")

    # Replacing it with a key that can withdraw is refused, the message names Withdraw, and the
    # connected key stays as it was.
    withdraw_key = _sandbox_key(live_server, {"Spot": ["SpotTrade"], "Wallet": ["Withdraw"]})
    page.click("[data-connection=sandbox] >> text=Replace key")  # type: ignore[attr-defined]
    page.fill("#api_key", withdraw_key["api_key"])  # type: ignore[attr-defined]
    page.fill("#api_secret", withdraw_key["api_secret"])  # type: ignore[attr-defined]
    page.click("#connect-form button[type=submit]")  # type: ignore[attr-defined]
    refused = page.wait_for_selector("#connect-result [data-status=permissions_error]")  # type: ignore[attr-defined]
    assert "Permissions Error" in refused.inner_text()
    assert "Withdraw" in refused.inner_text()
    assert withdraw_key["api_secret"] not in page.content()  # type: ignore[attr-defined]
    assert page.inner_text("[data-connection=sandbox] [data-status]") == "Connected"  # type: ignore[attr-defined]
    shoot(page, "21-journey-permissions-error")

    # Risk parameters: a bad value is rejected inline, good ones are saved.
    open_page(page, "/app/settings/risk", "#risk-form")
    page.fill("#stop_loss_pct", "5")  # type: ignore[attr-defined]
    page.click("#save-risk")  # type: ignore[attr-defined]
    page.wait_for_selector("#risk-rejected")  # type: ignore[attr-defined]
    assert "10 % and 30 %" in page.inner_text("#stop_loss_pct-error")  # type: ignore[attr-defined]
    page.fill("#stop_loss_pct", "15")  # type: ignore[attr-defined]
    page.fill("#daily_loss_limit_r", "2")  # type: ignore[attr-defined]
    page.click("#save-risk")  # type: ignore[attr-defined]
    page.wait_for_selector("#risk-saved")  # type: ignore[attr-defined]
    shoot(page, "22-journey-risk-saved")

    open_page(page, "/app/overview", "[data-testid=portfolio-value]")
    assert "USDT" in page.inner_text("[data-testid=portfolio-value]")  # type: ignore[attr-defined]
    shoot(page, "22b-journey-overview-connected")

    # A trade enters the journal (as the execution layer writes it) while the Trades page is open.
    user_id = _user_id(page, live_server)
    db_file = live_server.data_dir / "qari.db"
    symbol = _sandbox_symbol(live_server)
    _see_a_trade_appear_live(page, lambda: record_journal_trade(db_file, user_id, symbol), wait_ms=20_000)

    # Log out: back on the login page, and the old session no longer works.
    cookies = _cookies(page)
    page.click("#logout")  # type: ignore[attr-defined]
    page.wait_for_url("**/app/login")  # type: ignore[attr-defined]
    assert httpx.get(f"{live_server.url}/api/v1/me", cookies=cookies).status_code == 401
    shoot(page, "26-journey-logged-out")

    assert errors == []
    assert requests_seen.outside == []
    assert requests_seen.undocumented_api_calls(openapi) == []


@pytest.mark.soak
def test_engine_trade_when_sandbox_accelerated_then_trade_appears_live(
    page: object, live_server: LiveServer
) -> None:
    """The whole chain: the engine finds a setup on the accelerated sandbox, execution enters, and the
    open Trades page shows it. How soon a setup appears depends on the market the sandbox replays, so
    this runs under `make soak` (QARI_BROWSER_TRADE_WAIT_MS bounds the wait, default 10 minutes)."""
    register(page, f"engine-{uuid.uuid4().hex[:8]}@example.com")
    state = httpx.get(f"{live_server.url}/api/v1/engine/state", cookies=_cookies(page), timeout=10).json()
    assert state.get("running"), f"the engine is not running in qari serve (state: {state.get('state')})"
    open_page(page, "/app/settings/exchange", "#connect-sandbox")
    page.click("#connect-sandbox")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-connection] [data-status=connected]")  # type: ignore[attr-defined]
    _see_a_trade_appear_live(page, lambda: None, wait_ms=TRADE_WAIT_MS)
