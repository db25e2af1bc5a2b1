"""Issue 18: the operator page's Operations card shows the workers seen, the queue and the last
cycle's per-role timings (here the single-process install: no broker, units recorded by hand)."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from dashboard_support import OPERATOR_EMAIL, LiveServer, log_in, open_page, shoot

from qari.adapters.persistence.db import make_engine, make_sessionmaker, transaction
from qari.adapters.persistence.tables.engine import EngineCycleRow, EngineUnitRow

AT = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # older than any cycle the live server's engine runs


async def _seed(live_server: LiveServer) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{(live_server.data_dir / 'qari.db').resolve()}")
    now = dt.datetime.now(dt.UTC)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            session.add(
                EngineUnitRow(
                    kind="enter", cycle_at=AT, exchange_id="ops-test", user_id=424242, finished_at=now,
                    outcome={"gate": [], "orders_sent": 0, "worker": "worker-host:4242", "seconds": 1.25},
                )
            )  # fmt: skip
            session.add(
                EngineCycleRow(
                    exchange_id="ops-test", mode="sandbox", at=AT, finished_at=AT, duration_ms=3_100
                )
            )
    finally:
        await engine.dispose()


def test_operator_page_when_a_worker_recorded_a_unit_then_operations_card_lists_it(
    page: object, live_server: LiveServer
) -> None:
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        pool.submit(asyncio.run, _seed(live_server)).result()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))  # type: ignore[attr-defined]
    log_in(page, OPERATOR_EMAIL)
    open_page(page, "/app/operator", "#operations")
    card = page.inner_text("#operations")  # type: ignore[attr-defined]
    assert "worker-host:4242" in card and "1.25 s" in card
    assert "no broker configured" in page.inner_text("#operations-queue")  # type: ignore[attr-defined]
    assert "Last cycle" in card
    shoot(page, "18-operator-operations")
    assert errors == []
