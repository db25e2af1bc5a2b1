"""Users' units of work in worker processes make the same decisions as in the engine process."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tests.integration.engine.support import MARKET_DATA_DIR as MARKET_DATA
from tests.integration.engine.support import stepped_sandbox_engine
from tests.market_data import needs_market_data

from qari.adapters.persistence.tables.trading import GateEvaluationRow, OrderRow, PositionRow
from qari.adapters.simulator.harness import SandboxServer
from qari.core.time import to_ms
from qari.engine.cycle import Timeouts

PAIRS = ("SUI/USDT", "APT/USDT", "AVAX/USDT", "BCH/USDT", "LTC/USDT", "INJ/USDT", "DOGE/USDT", "LINK/USDT")
AT = dt.datetime(2024, 8, 9, 15, 0, tzinfo=dt.UTC)  # several fresh candidates (benchmarks/cycle.py)
USERS = 4

pytestmark = needs_market_data


async def _one_cycle(tmp: Path, workers: int) -> tuple[list[Any], dict[str, int]]:
    start = AT - dt.timedelta(minutes=5)
    with SandboxServer.start(
        data_dir=MARKET_DATA, symbols=[*PAIRS, "BTC/USDT"], stepped_start_ms=to_ms(start)
    ) as sandbox:
        accounts = {u: sandbox.create_key(balances={"USDT": "10000"}) for u in range(1, USERS + 1)}
        run = await stepped_sandbox_engine(
            sandbox,
            tmp,
            accounts=accounts,
            start=start,
            pairs=PAIRS,
            step=300,
            timeouts=Timeouts(refresh_seconds=60, user_seconds=60, max_concurrent_users=8),
            workers=workers,
        )
        try:
            pids = {w.process.pid for w in run.units.pool._workers} if workers else set()
            await run.engine.scheduler.sleep_until(AT)
            report = await run.engine.cycle.run_cycle(AT)
            async with run.sessions() as session:
                counts = {
                    "gates": len((await session.scalars(select(GateEvaluationRow.id))).all()),
                    "positions": len((await session.scalars(select(PositionRow.id))).all()),
                    "orders": len((await session.scalars(select(OrderRow.id))).all()),
                }
            on_venue = sum(len(sandbox.orders(key, open_only=True)) for key, _ in accounts.values())
        finally:
            await run.engine.stop()
    assert len(pids) == workers
    assert all(u.error is None for u in report.units), [u.error for u in report.units]
    outcomes = sorted(
        (
            u.unit.user_id,
            tuple((g.symbol, g.passed, g.blocking_code) for g in u.outcome.gate),
            u.outcome.orders_sent,
        )
        for u in report.units
        if u.outcome is not None
    )
    return outcomes, {**counts, "open_on_venue": on_venue}


async def test_cycle_when_units_run_in_two_worker_processes_then_same_gates_orders_and_journal(
    tmp_path: Path,
) -> None:
    in_process = await _one_cycle(tmp_path / "in-process", workers=0)
    pooled = await _one_cycle(tmp_path / "pooled", workers=2)

    outcomes, counts = pooled
    assert len(outcomes) == USERS and sum(sent for _, _, sent in outcomes) >= USERS
    assert counts["gates"] == sum(len(gates) for _, gates, _ in outcomes)
    assert counts["positions"] == counts["orders"] == counts["open_on_venue"] > 0
    assert pooled == in_process
