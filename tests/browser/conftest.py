"""Browser tests: the real app under uvicorn (own process, real SQLite in tmp) driven by Debian's
headless Chromium through Playwright. Without Chromium or Playwright they skip and say why."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from dashboard_support import OPERATOR_EMAIL, PASSWORD, LiveServer, RequestLog, shoot

SRC = Path(__file__).resolve().parents[2] / "src"
CHROMIUM = os.environ.get("QARI_CHROMIUM", "/usr/bin/chromium")
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _browser_missing_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (make test installs the dev extras)"
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return f"Chromium not found at {CHROMIUM}: run scripts/browser-up.sh as root to install it"
    return None


def _wait_healthy(server: LiveServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not healthy after {timeout}s:\n{server.log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`qari serve` in its own process on a free port, with the sandbox engine accelerated."""
    reason = _browser_missing_reason()
    if reason:
        print(f"\nbrowser tests skipped: {reason}")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("live")
    port = free_port()
    env = {
        **os.environ,
        "QARI_HOST": "127.0.0.1",
        "QARI_PORT": str(port),
        "QARI_DATA_DIR": str(root / "var"),
        "QARI_MASTER_KEY_FILE": str(root / "keys" / "master.key"),
        "QARI_ENGINE_MODE": "sandbox",
        "QARI_CYCLE_SECONDS": "5",
        "QARI_MANAGE_SECONDS": "2",
        "QARI_SANDBOX_SPEED": "300",
        "QARI_EGRESS_IP": "127.0.0.1",
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    log = root / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "qari", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root
        )
    server = LiveServer(url=f"http://127.0.0.1:{port}", data_dir=root / "var", log=log, process=process)
    try:
        _wait_healthy(server, timeout=60)
        # The first account of a fresh install is the operator; make it before any test's user.
        account = {"email": OPERATOR_EMAIL, "password": PASSWORD}
        assert httpx.post(f"{server.url}/api/v1/auth/register", json=account).status_code == 201
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# Module scope: Playwright's sync API keeps an event loop running while it is open, which would
# break the asyncio tests that run after the browser tests in the same session.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    reason = _browser_missing_reason()
    if reason:
        pytest.skip(reason)
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
def page(
    browser: object, requests_seen: RequestLog, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[object]:
    from playwright.sync_api import Browser, Response, Route

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)

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
