"""Helpers shared by the browser tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def sandbox_url(self) -> str:
        return f"{self.url}/sandbox/bybit"


@dataclass
class RequestLog:
    """Every URL the page asked for; anything not on 127.0.0.1 is also blocked."""

    urls: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    api_calls: list[tuple[str, str, int]] = field(default_factory=list)

    def undocumented_api_calls(self, openapi: dict[str, Any]) -> list[str]:
        """API calls that got an answer (not 404/405) but are not in the OpenAPI document."""
        documented = [
            (method.upper(), re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"))
            for path, item in openapi["paths"].items()
            for method in item
        ]
        return [
            f"{method} {path} -> {status}"
            for method, path, status in self.api_calls
            if status not in (404, 405)
            and not any(m == method and pattern.match(path) for m, pattern in documented)
        ]


def shoot(page: object, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # type: ignore[attr-defined]
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


PASSWORD = "Correct-Horse-Battery-9"
OPERATOR_EMAIL = "operator@example.com"


def register(page: object, email: str, password: str = PASSWORD) -> None:
    """Create an account through the register page; the app logs in and opens the Overview."""
    page.goto("/app/register")  # type: ignore[attr-defined]
    page.fill("#email", email)  # type: ignore[attr-defined]
    page.fill("#password", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url("**/app/overview")  # type: ignore[attr-defined]
    page.wait_for_selector("#positions")  # type: ignore[attr-defined]


def log_in(page: object, email: str, password: str = PASSWORD) -> None:
    page.goto("/app/login")  # type: ignore[attr-defined]
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
