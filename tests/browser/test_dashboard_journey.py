"""The user's journey in a real browser against a real server whose engine trades the built-in sandbox
replaying real 2024 candles: register → connect the sandbox → Connected → a withdraw-enabled key is
refused with Permissions Error naming Withdraw → risk parameters (bad values rejected inline) → the
sandbox is accelerated and the ENGINE's trade appears with its explanation without a reload → log out.
Screenshots of each step go to test-artifacts/browser/.

Nothing is written into the journal by the test: the replay starts one cycle before the first moment
at which the engine, run in backtest mode over the same candles, enters a position (replay_support),
and the server's own engine makes that trade for the user who connected the sandbox in the browser.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from dashboard_support import LiveServer, RequestLog, open_page, register, require_browser, serve, shoot
from replay_support import CYCLE, PAIRS, EngineEntry, first_engine_entry, market_data

# Accelerated: one 15-minute cycle of the replay every 7.5 s.
SPEED = 120
TRADE_WAIT_MS = 120_000


@pytest.fixture(scope="module")
def engine_entry() -> EngineEntry:
    data = market_data()
    if data is None:
        pytest.skip(
            "real market data not present in ../shared/data/market/binance-spot-2024 (set QARI_MARKET_DATA)"
        )
    entry = first_engine_entry(data)
    assert entry is not None, "the engine opened no position over the searched stretch of real candles"
    return entry


@pytest.fixture(scope="module")
def replay_server(
    tmp_path_factory: pytest.TempPathFactory, engine_entry: EngineEntry
) -> Iterator[LiveServer]:
    """`qari serve` with the sandbox replaying the real candles from one cycle before the engine's
    entry, at the real pace until the journey accelerates it."""
    require_browser()
    settings = {
        "QARI_ENGINE_MODE": "sandbox",
        "QARI_SANDBOX_DATA": str(market_data()),
        "QARI_SANDBOX_SYMBOLS": ",".join(PAIRS),
        "QARI_SANDBOX_START": (engine_entry.at - CYCLE).isoformat(),
        "QARI_SANDBOX_SPEED": "1",
        "QARI_CYCLE_SECONDS": str(int(CYCLE.total_seconds())),
        "QARI_MANAGE_SECONDS": "300",
    }
    with serve(tmp_path_factory.mktemp("replay"), settings) as server:
        yield server


@pytest.fixture
def app_server(replay_server: LiveServer) -> LiveServer:
    return replay_server


def _sandbox_key(server: LiveServer, permissions: dict[str, list[str]]) -> dict[str, str]:
    body = {"permissions": permissions, "read_only": 0, "ips": ["*"], "balances": {"USDT": "10000"}}
    response = httpx.post(
        f"{server.sandbox_url}/admin/keys", json=body, headers=server.sandbox_admin, timeout=10
    )
    assert response.status_code in (200, 201), response.text
    keys: dict[str, str] = response.json()
    return keys


def _cookies(page: object) -> dict[str, str]:
    return {c["name"]: c["value"] for c in page.context.cookies()}  # type: ignore[attr-defined]


def _replay(page: Any, scope: str) -> str:
    """Click the first "Replay" button in `scope` and return what it reports once done."""
    page.click(f"{scope} button[data-replay]")
    result = f"{scope} [data-testid=replay-result]"
    page.wait_for_selector(f"{result}:has-text('Replay'):not(:has-text('…'))")  # done: no "Replaying…"
    return str(page.inner_text(result))


def _venue_order_links(server: LiveServer) -> set[str]:
    """The client order ids of every order the sandbox venue holds, whoever's key placed it."""
    admin = f"{server.sandbox_url}/admin"
    links: set[str] = set()
    auth = server.sandbox_admin
    for key in httpx.get(f"{admin}/keys", headers=auth, timeout=10).json():
        for order in httpx.get(f"{admin}/orders/{key['api_key']}", headers=auth, timeout=10).json():
            links.add(str(order.get("orderLinkId", "")))
    return links


def test_journey_when_user_connects_sandbox_and_engine_trades_then_dashboard_shows_it_live(
    page: object, replay_server: LiveServer, engine_entry: EngineEntry, requests_seen: RequestLog
) -> None:
    server = replay_server
    openapi = httpx.get(f"{server.url}/openapi.json").json()
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
    withdraw_key = _sandbox_key(server, {"Spot": ["SpotTrade"], "Wallet": ["Withdraw"]})
    page.click("[data-connection=sandbox] >> text=Replace key")  # type: ignore[attr-defined]
    page.fill("#api_key", withdraw_key["api_key"])  # type: ignore[attr-defined]
    page.fill("#api_secret", withdraw_key["api_secret"])  # type: ignore[attr-defined]
    page.click("#connect-form button[type=submit]")  # type: ignore[attr-defined]
    refused = page.wait_for_selector("#connect-form-result [data-status=permissions_error]")  # type: ignore[attr-defined]
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

    # The Trades page is open and empty; the sandbox is accelerated; the engine's trade shows up.
    open_page(page, "/app/trades", "#trade-list")
    assert page.query_selector("details.trade") is None, "a trade existed before the replay reached the setup"  # type: ignore[attr-defined]
    page.evaluate("window.__qariNoReload = 'still here'")  # type: ignore[attr-defined]
    clock = httpx.post(
        f"{server.sandbox_url}/admin/clock", json={"speed": SPEED}, headers=server.sandbox_admin, timeout=10
    )
    assert clock.status_code == 200, clock.text
    assert clock.json()["mode"] == "replay"
    page.wait_for_selector("details.trade", timeout=TRADE_WAIT_MS)  # type: ignore[attr-defined]
    assert page.evaluate("window.__qariNoReload") == "still here"  # type: ignore[attr-defined]
    # Back to the real pace, so the market holds still for the screenshots.
    assert (
        httpx.post(
            f"{server.sandbox_url}/admin/clock", json={"speed": 1}, headers=server.sandbox_admin, timeout=10
        ).status_code
        == 200
    )
    # The trade's row is redrawn each time its orders move (pushed as they are journaled): address it
    # by selector, not by a handle to the row first drawn.
    assert page.inner_text("details.trade summary strong") == engine_entry.symbol  # type: ignore[attr-defined]
    page.click("details.trade summary")  # type: ignore[attr-defined]
    explanation = page.wait_for_selector("details.trade[open] [data-testid=explanation]")  # type: ignore[attr-defined]
    text = explanation.inner_text()
    assert engine_entry.symbol in text and len(text) > 80, text
    assert page.query_selector("details.trade[open] table")  # type: ignore[attr-defined]
    page.wait_for_selector("details.trade[open] .chart[data-chart=ready] canvas")  # type: ignore[attr-defined]
    shoot(page, "23-journey-trade")
    # The decision behind the trade (the analysis and the gate) replays from its stored inputs alone.
    replayed = _replay(page, "details.trade[open]")
    assert replayed == "Replayed analysis + gate from the stored inputs: identical.", replayed

    # It is the engine's trade for this user: it passed all 16 checks and its entry order is on the venue.
    trades: list[dict[str, Any]] = httpx.get(
        f"{server.url}/api/v1/trades", cookies=_cookies(page), timeout=10
    ).json()["trades"]
    assert [t["symbol"] for t in trades] == [engine_entry.symbol]
    trade = trades[0]
    assert trade["explanation"] == text
    assert trade["gate_evaluation"] and trade["gate_evaluation"]["passed"] is True
    entries = [o for o in trade["orders"] if o["side"] == "buy"]
    assert entries, f"no entry order in {trade['orders']}"
    assert {o["client_order_id"] for o in entries} <= _venue_order_links(server)

    open_page(page, "/app/overview", "#equity-chart[data-chart]")
    page.click(f"#positions a:text-is('{engine_entry.symbol}')")  # type: ignore[attr-defined]
    page.wait_for_selector("#position-chart[data-chart=ready] canvas")  # type: ignore[attr-defined]
    shoot(page, "24-journey-overview")
    open_page(page, "/app/scanner", "#scan")
    shoot(page, "25-journey-scanner")
    # Every scanner row's analysis decision replays too.
    row_replay = _replay(page, "#scan")
    assert row_replay == "Replayed analysis from the stored inputs: identical.", row_replay

    # Log out: back on the login page, and the old session no longer works.
    cookies = _cookies(page)
    page.click("#logout")  # type: ignore[attr-defined]
    page.wait_for_url("**/app/login")  # type: ignore[attr-defined]
    assert httpx.get(f"{server.url}/api/v1/me", cookies=cookies).status_code == 401
    shoot(page, "26-journey-logged-out")

    assert errors == []
    assert requests_seen.outside == []
    assert requests_seen.undocumented_api_calls(openapi) == []
