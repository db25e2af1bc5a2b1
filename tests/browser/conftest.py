"""Browser tests: the real app under uvicorn (own process, real SQLite in tmp) driven by Debian's
headless Chromium through Playwright. Without Chromium or Playwright they skip and say why."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from dashboard_support import CHROMIUM, LiveServer, RequestLog, require_browser, serve, shoot

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1"}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app with the sandbox engine on the synthetic market, accelerated (`make run`'s defaults)."""
    require_browser()
    engine = {
        "QARI_ENGINE_MODE": "sandbox",
        "QARI_CYCLE_SECONDS": "5",
        "QARI_MANAGE_SECONDS": "2",
        "QARI_SANDBOX_SPEED": "300",
    }
    with serve(tmp_path_factory.mktemp("live"), engine) as server:
        yield server


# Module scope: Playwright's sync API keeps an event loop running while it is open, which would
# break the asyncio tests that run after the browser tests in the same session.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def requests_seen() -> RequestLog:
    return RequestLog()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[object]:
    report = yield
    if getattr(report, "when", "") == "call":
        item.stash[FAILED] = bool(getattr(report, "failed", False))
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def app_server(live_server: LiveServer) -> LiveServer:
    """The server the `page` fixture browses; a module may override it with its own server."""
    return live_server


@pytest.fixture
def page(
    browser: object, requests_seen: RequestLog, app_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[object]:
    from playwright.sync_api import Browser, Response, Route

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=app_server.url)

    def guard(route: Route) -> None:
        url = route.request.url
        requests_seen.urls.append(url)
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            requests_seen.outside.append(url)
            route.abort()

    def answered(response: Response) -> None:
        parts = urlsplit(response.url)
        if parts.path.startswith("/api/"):
            requests_seen.api_calls.append((response.request.method, parts.path, response.status))

    context.route("**/*", guard)
    context.on("response", answered)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    try:
        yield tab
        if request.node.stash.get(FAILED, False):
            shoot(tab, f"failed-{request.node.name}")
    finally:
        context.close()
