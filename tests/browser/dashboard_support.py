"""Helpers shared by the browser tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.helpers import declared_answer

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
SRC = Path(__file__).resolve().parents[2] / "src"
CHROMIUM = os.environ.get("QARI_CHROMIUM", "/usr/bin/chromium")
SANDBOX_ADMIN_TOKEN = "browser-tests-sandbox-admin-token"


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def sandbox_url(self) -> str:
        return f"{self.url}/sandbox/bybit"

    @property
    def sandbox_admin(self) -> dict[str, str]:
        """Headers for the mounted sandbox's admin API (its token is set by `serve`)."""
        return {"Authorization": f"Bearer {SANDBOX_ADMIN_TOKEN}"}


@dataclass
class RequestLog:
    """Every URL the page asked for; anything not on 127.0.0.1 is also blocked."""

    urls: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    api_calls: list[tuple[str, str, int]] = field(default_factory=list)

    def undocumented_api_calls(self, openapi: dict[str, Any]) -> list[str]:
        """API calls that got an answer (not 404/405) but are not in the OpenAPI document, and
        successful ones whose answer the document does not declare: a JSON body must name a schema
        (a response model, as `api-types.js` types it), not an untyped object."""
        operations = sorted(
            (
                (
                    path.count("{"),
                    method.upper(),
                    re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"),
                    op,
                )
                for path, item in openapi["paths"].items()
                for method, op in item.items()
            ),
            key=lambda row: row[0],  # a literal path before a templated one it also matches
        )
        found = []
        for method, path, status in self.api_calls:
            if status in (404, 405):
                continue
            op = next((op for _, m, pattern, op in operations if m == method and pattern.match(path)), None)
            if op is None:
                found.append(f"{method} {path} -> {status}: not in /openapi.json")
            elif 200 <= status < 300 and not declared_answer(op, status):
                found.append(f"{method} {path} -> {status}: no declared response schema")
        return found


def shoot(page: object, name: str, folder: Path = ARTIFACTS) -> Path:
    """Save a full-page screenshot under test-artifacts/browser/ (or `folder`)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # type: ignore[attr-defined]
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


PASSWORD = "Correct-Horse-Battery-9"
OPERATOR_EMAIL = "operator@example.com"


def register(page: object, email: str, password: str = PASSWORD) -> None:
    """Create an account through the register page; the app logs in and opens the Overview."""
    _submit_credentials(page, "/app/register", email, password)


def log_in(page: object, email: str, password: str = PASSWORD) -> None:
    _submit_credentials(page, "/app/login", email, password)


def _submit_credentials(page: object, path: str, email: str, password: str) -> None:
    page.goto(path)  # type: ignore[attr-defined]
    page.fill("#email", email)  # type: ignore[attr-defined]
    page.fill("#password", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url("**/app/overview")  # type: ignore[attr-defined]
    page.wait_for_selector("#positions")  # type: ignore[attr-defined]


def open_page(page: object, path: str, ready: str) -> None:
    """Navigate inside the single-page app (no reload) and wait for `ready` to show."""
    page.evaluate(
        "path => { history.pushState({}, '', path); dispatchEvent(new PopStateEvent('popstate')); }", path
    )  # type: ignore[attr-defined]
    page.wait_for_selector(ready)  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


@contextmanager
def serve(root: Path, settings: dict[str, str], fresh_install: bool = False) -> Iterator[LiveServer]:
    """`qari serve` in its own process on a free port with these QARI_* settings, the operator account
    already made (the first account of a fresh install), stopped afterwards. `fresh_install`: the app as
    a user starts it in an empty folder: default settings (no inherited QARI_* either) but the port and
    `settings`, data in ./var, and no account yet."""
    port = free_port()
    test_settings = {
        "QARI_HOST": "127.0.0.1",
        "QARI_DATA_DIR": str(root / "var"),
        "QARI_MASTER_KEY_FILE": str(root / "keys" / "master.key"),
        "QARI_EGRESS_IP": "127.0.0.1",
        "QARI_SANDBOX_ADMIN_TOKEN": SANDBOX_ADMIN_TOKEN,
        "QARI_REGISTER_RATE": "1000/minute",  # every browser test registers from 127.0.0.1
    }
    inherited = {k: v for k, v in os.environ.items() if not (fresh_install and k.startswith("QARI_"))}
    env = {
        **inherited,
        **({} if fresh_install else test_settings),
        "QARI_PORT": str(port),
        **settings,
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
        if not fresh_install:
            # Make the operator before any test's user, so test users are ordinary fresh accounts.
            account = {"email": OPERATOR_EMAIL, "password": PASSWORD}
            assert httpx.post(f"{server.url}/api/v1/auth/register", json=account).status_code == 202
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _browser_missing_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (make test installs the dev extras)"
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return f"Chromium not found at {CHROMIUM}: run scripts/browser-up.sh as root to install it"
    return None


def require_browser() -> None:
    reason = _browser_missing_reason()
    if reason:
        print(f"\nbrowser tests skipped: {reason}")
        pytest.skip(reason)
