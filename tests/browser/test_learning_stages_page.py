"""Issue 20: the operator's stage page shows the model registry (version, source, data window, who
activated it) and activates and rolls back a version from the dashboard."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import httpx
from dashboard_support import OPERATOR_EMAIL, LiveServer, log_in, open_page, shoot

from qari.adapters.persistence.db import make_engine, make_sessionmaker, transaction
from qari.adapters.persistence.learning import register
from qari.analysis.weights import stage1

NOW = dt.datetime(2024, 9, 7, tzinfo=dt.UTC)


async def _seed(live_server: LiveServer) -> str:
    engine = make_engine(f"sqlite+aiosqlite:///{(live_server.data_dir / 'qari.db').resolve()}")
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            row = await register(
                session, stage=2, source="backtest", now=NOW, samples=3132, metrics={"avg_r": -0.31},
                weights=dataclasses.replace(stage1(), name="stage2", points=(1.75, *stage1().points[1:])),
                data_from=NOW - dt.timedelta(days=150), data_to=NOW,
            )  # fmt: skip
            return row.version
    finally:
        await engine.dispose()


def _models(live_server: LiveServer, page: object) -> dict[str, object]:
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}  # type: ignore[attr-defined]
    return httpx.get(f"{live_server.url}/api/v1/admin/models", cookies=cookies).json()  # type: ignore[no-any-return]


def test_operator_stage_page_when_seed_activated_then_rolled_back(
    page: object, live_server: LiveServer
) -> None:
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        version = pool.submit(asyncio.run, _seed(live_server)).result()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))  # type: ignore[attr-defined]
    log_in(page, OPERATOR_EMAIL)
    open_page(page, "/app/operator", "#learning")
    card = page.inner_text("#learning")  # type: ignore[attr-defined]
    assert "Stage 1: fixed layer weights" in card and version in card
    assert "backtest seed" in card and "3132 samples" in card
    assert page.is_disabled("#learning-train") and page.is_disabled("#learning-rollback")  # type: ignore[attr-defined]

    page.click(f"[data-activate='{version}']")  # type: ignore[attr-defined]
    page.wait_for_selector("#learning-active >> text=Stage 2")  # type: ignore[attr-defined]
    assert OPERATOR_EMAIL in page.inner_text("#learning")  # type: ignore[attr-defined]
    shoot(page, "14-operator-learning-stages")
    assert _models(live_server, page)["active_version"] == version

    page.click("#learning-rollback")  # type: ignore[attr-defined]
    page.wait_for_selector("#learning-active >> text=Stage 1")  # type: ignore[attr-defined]
    assert _models(live_server, page)["active_version"] == "stage1"
    assert page.is_visible(f"[data-activate='{version}']") and errors == []  # type: ignore[attr-defined]
