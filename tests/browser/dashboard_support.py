"""Helpers shared by the browser tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

import datetime as dt
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


EXPLANATION = (
    "Long SOL/USDT: 4 layers agree (market structure bullish on 4h and 1d, a swing failure below the "
    "range low, a fresh order block, price in the golden pocket); stop 12 % below at the swing low; "
    "targets at the range high and the equal highs; reward/risk 2.4."
)


def record_journal_trade(db_file: Path, user_id: int, symbol: str = "SOL/USDT") -> int:
    """Write one open position into the server's trade journal, as the execution layer records it
    (same table, same columns), and return its id."""
    from decimal import Decimal

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from qari.adapters.persistence.tables.trading import PositionRow

    now = dt.datetime.now(dt.UTC)
    row = PositionRow(
        user_id=user_id, exchange_id="sandbox", symbol=symbol, base=symbol.split("/")[0], state="open",
        leg2_state="reserved", entry_price=Decimal("100"), structural_stop=Decimal("88"),
        stop_price=Decimal("88"), pt1=Decimal("118"), pt2=Decimal("129"), leg1_qty=Decimal("1"),
        leg2_qty=Decimal("1"), planned_r_quote=Decimal("24"), fee_rate=Decimal("0.001"),
        bought_qty=Decimal("1"), sold_qty=Decimal("0"), fee_base=Decimal("0"), fees_quote=Decimal("0.1"),
        cost_quote=Decimal("100"), proceeds_quote=Decimal("0"), blended_entry=Decimal("100"),
        explanation=EXPLANATION, layer_results=[
            {"code": "L01", "name": "Market structure", "vote": "agree", "score": 0.8,
             "reason": "bullish structure on 4h and 1d"},
            {"code": "L02", "name": "Liquidity & SFP", "vote": "agree", "score": 0.7,
             "reason": "swing failure below the range low"},
        ],
        leg1_expires_at=now + dt.timedelta(hours=4), leg2_expires_at=now + dt.timedelta(hours=24),
        opened_at=now, updated_at=now,
    )  # fmt: skip
    engine = create_engine(f"sqlite:///{db_file}")
    try:
        with Session(engine) as session:
            session.add(row)
            session.commit()
            return int(row.id)
    finally:
        engine.dispose()
