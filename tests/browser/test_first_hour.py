"""Issue 17's first hour in a real browser: `qari serve` from an empty folder with default settings,
register (the first account, so the operator) on the page, one click on the sandbox under Settings →
Exchange, then only the dashboard is watched: an open position on the Overview, then a closed trade on
the Trades page, each timed from the connect click. `make test` runs a market moment known to trade
(tests/demo_market.py) at a higher speed; the soak variant runs the default install as is and holds it
to the issue's 5 and 15 minutes. Screenshots go to test-artifacts/first-hour/."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_support import LiveServer, RequestLog, open_page, register, require_browser, serve, shoot
from tests.demo_market import (
    CLOSED_TRADE_LIMIT_S,
    FAST_LIMIT_S,
    FAST_SPEED,
    FAST_SPEEDUP,
    FAST_START,
    FIRST_POSITION_LIMIT_S,
)

FIRST_HOUR = Path(__file__).resolve().parents[2] / "test-artifacts" / "first-hour"
# A position the engine holds: only filled positions get a "Close now" button (trades.js FILLED).
OPEN_POSITION = "#positions button[data-close]"
# A closed trade that was a position: an entry that expired unfilled is "closed" too, without an exit.
CLOSED_TRADE = "details.trade"  # with the Trades page's state filter on "Closed"
EXIT_PRICE = re.compile(r"\d")


@pytest.fixture
def app_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """A fresh install; the fast variant sets only the demo market's start and speed."""
    require_browser()
    soak = request.node.get_closest_marker("soak") is not None
    settings = {} if soak else {"QARI_SANDBOX_SPEED": f"{FAST_SPEED:g}", "QARI_SANDBOX_START": FAST_START}
    with serve(tmp_path, settings, fresh_install=True) as server:
        yield server


def _ms_left(start: float, limit_s: float) -> float:
    return max(1.0, (start + limit_s - time.monotonic()) * 1000)


def _first_hour(page: object, limit_s: float, speedup: float | None = None) -> tuple[float, float]:
    """Seconds from the sandbox click to an open position on the Overview and to a closed trade on the
    Trades page; with `speedup`, the operator then sets the demo speed on the Operator page."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))  # type: ignore[attr-defined]
    register(page, f"first-{uuid.uuid4().hex[:8]}@example.com")
    open_page(page, "/app/settings/exchange", "#connect-sandbox")
    page.click("#connect-sandbox")  # type: ignore[attr-defined]
    start = time.monotonic()
    page.wait_for_selector("[data-connection] [data-status=connected]")  # type: ignore[attr-defined]

    open_page(page, "/app/overview", "#positions")
    page.wait_for_selector(OPEN_POSITION, timeout=_ms_left(start, limit_s))  # type: ignore[attr-defined]
    opened = time.monotonic() - start
    shoot(page, "position", FIRST_HOUR)

    if speedup is not None:
        open_page(page, "/app/operator", "#sandbox-speed")
        page.fill("#sandbox-speed", f"{speedup:g}")  # type: ignore[attr-defined]
        page.click("#sandbox-speed-save")  # type: ignore[attr-defined]
        page.wait_for_selector(f"#sandbox-clock >> text={speedup:g}× real time")  # type: ignore[attr-defined]

    open_page(page, "/app/trades", "#filter-status")
    page.select_option("#filter-status", "closed")  # type: ignore[attr-defined]
    exits = page.locator("summary [data-label=Exit]", has_text=EXIT_PRICE)  # type: ignore[attr-defined]
    trade = page.locator(CLOSED_TRADE).filter(has=exits).first  # type: ignore[attr-defined]
    trade.wait_for(timeout=_ms_left(start, limit_s))
    closed = time.monotonic() - start
    assert "USDT" in trade.locator("[data-testid=pnl-usdt]").inner_text()
    state = trade.locator("summary [data-label=State] .badge:not(.good)")
    assert state.count() == 1, "the trade is not shown as closed"
    shoot(page, "closed-trade", FIRST_HOUR)
    assert errors == []
    return opened, closed


def test_first_hour_when_fresh_install_then_position_then_closed_trade_in_the_dashboard(
    page: object, requests_seen: RequestLog
) -> None:
    opened, closed = _first_hour(page, FAST_LIMIT_S, speedup=FAST_SPEED * FAST_SPEEDUP)
    print(f"\nbrowser, {FAST_SPEED:g}x: position after {opened:.1f} s, closed trade after {closed:.1f} s")
    assert opened <= closed
    assert requests_seen.outside == []


@pytest.mark.soak
@pytest.mark.timeout(CLOSED_TRADE_LIMIT_S + 180)
def test_first_hour_when_default_install_then_position_within_5_and_close_within_15_minutes(
    page: object, requests_seen: RequestLog
) -> None:
    opened, closed = _first_hour(page, CLOSED_TRADE_LIMIT_S)
    print(f"\nbrowser, default speed: position after {opened:.0f} s, closed trade after {closed:.0f} s")
    assert opened <= FIRST_POSITION_LIMIT_S and closed <= CLOSED_TRADE_LIMIT_S
    assert requests_seen.outside == []
