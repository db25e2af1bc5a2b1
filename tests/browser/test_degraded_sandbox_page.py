"""Issue 17: with sandbox data a user cannot have (the README's old `../shared/...` recipe), the
dashboard says the server is degraded and why, and the sandbox button answers in words, not a 500."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from dashboard_support import LiveServer, RequestLog, open_page, register, serve, shoot


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("degraded")
    settings = {"QARI_ENGINE_MODE": "sandbox", "QARI_SANDBOX_DATA": str(root / "no-such-data")}
    with serve(root, settings) as server:
        yield server


def test_dashboard_when_sandbox_data_missing_then_degraded_badge_and_clear_connect_error(
    page: object, app_server: LiveServer, requests_seen: RequestLog
) -> None:
    health = httpx.get(f"{app_server.url}/api/v1/health").json()
    register(page, f"degraded-{uuid.uuid4().hex[:8]}@example.com")
    badge = page.wait_for_selector("#engine-badge >> text=Engine: degraded")  # type: ignore[attr-defined]
    open_page(page, "/app/settings/exchange", "#connect-sandbox")
    page.click("#connect-sandbox")  # type: ignore[attr-defined]
    page.wait_for_selector("text=market data cannot be read")  # type: ignore[attr-defined]
    shoot(page, "14-degraded-sandbox")
    said = page.inner_text("#tab-exchange")  # type: ignore[attr-defined]

    assert health["status"] == "degraded"
    assert "cannot be read" in badge.get_attribute("title")
    connect = [s for m, path, s in requests_seen.api_calls if path.endswith("/connections/sandbox")]
    assert connect == [503]
    assert "QARI_SANDBOX_DATA" in said and "retrying" not in said  # nothing will retry a missing folder
