"""Issue 17: the operator sets the demo market's speed on the Operator page (no curl to an admin
endpoint); an ordinary user may not; the Scanner says in words why nothing was entered."""

from __future__ import annotations

import time
import uuid

import httpx
from dashboard_support import OPERATOR_EMAIL, LiveServer, log_in, open_page, register, shoot


def _cookies(page: object) -> dict[str, str]:
    return {c["name"]: c["value"] for c in page.context.cookies()}  # type: ignore[attr-defined]


def _speed(live_server: LiveServer, page: object) -> float:
    body = httpx.get(f"{live_server.url}/api/v1/sandbox/clock", cookies=_cookies(page)).json()
    return float(body["speed"])


def test_operator_page_when_speed_chosen_then_demo_market_runs_at_it(
    page: object, live_server: LiveServer
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))  # type: ignore[attr-defined]
    log_in(page, OPERATOR_EMAIL)
    open_page(page, "/app/operator", "#sandbox-clock")
    before = _speed(live_server, page)
    assert f"{before:g}× real time" in page.inner_text("#sandbox-clock")  # type: ignore[attr-defined]

    page.fill("#sandbox-speed", "45")  # type: ignore[attr-defined]
    page.click("#sandbox-speed-save")  # type: ignore[attr-defined]
    page.wait_for_selector("#sandbox-clock >> text=45× real time")  # type: ignore[attr-defined]
    shoot(page, "12-operator-demo-speed")
    assert _speed(live_server, page) == 45.0
    page.fill("#sandbox-speed", f"{before:g}")  # type: ignore[attr-defined]
    page.click("#sandbox-speed-save")  # type: ignore[attr-defined]
    page.wait_for_selector(f"#sandbox-clock >> text={before:g}× real time")  # type: ignore[attr-defined]
    assert _speed(live_server, page) == before
    assert errors == []


def test_scanner_when_user_connected_then_says_why_and_speed_is_operator_only(
    page: object, live_server: LiveServer
) -> None:
    register(page, f"speed-{uuid.uuid4().hex[:8]}@example.com")
    cookies = _cookies(page)
    refused = httpx.put(
        f"{live_server.url}/api/v1/sandbox/speed",
        json={"speed": 2},
        cookies=cookies,
        headers={"X-CSRF-Token": cookies.get("qari_csrf", "")},
    )
    open_page(page, "/app/settings/exchange", "#connect-sandbox")
    page.click("#connect-sandbox")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-connection] [data-status=connected]")  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while True:  # the engine scans once a user trades: wait for its next cycle
        open_page(page, "/app/scanner", "#scan")
        if page.is_visible("#scan table") or time.monotonic() > deadline:  # type: ignore[attr-defined]
            break
        time.sleep(2)
    scan = page.inner_text("#scan")  # type: ignore[attr-defined]
    shoot(page, "13-scanner-why")

    assert refused.status_code == 403
    words = ("threshold", "layers needed", "gate:", "vetoed", "Leg 1 placed", "candidate")
    assert "why" in scan.lower() and any(w in scan for w in words)
