"""Helpers shared by the browser tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

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


def shoot(page: object, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


PASSWORD = "Correct-Horse-Battery-9"


def register(page: object, email: str, password: str = PASSWORD) -> None:
    """Create an account through the register page; the app logs in and opens the Overview."""
    page.goto("/app/register")  # type: ignore[attr-defined]
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
