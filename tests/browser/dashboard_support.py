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
