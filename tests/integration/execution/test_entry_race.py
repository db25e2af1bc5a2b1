"""Gate check G10 for real: two OS processes race to enter the same user+symbol on PostgreSQL, against
the sandbox over HTTP; exactly one entry results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from qari.adapters.persistence.tables.trading import GateEvaluationRow

from .rig import at, rig_for

WORKER = Path(__file__).with_name("worker.py")


@pytest.mark.postgres
async def test_entry_when_two_processes_race_on_postgres_then_one_position_and_one_order(pg_url: str) -> None:
    async with rig_for({"SOL/USDT": [(at(0), 101.0), (at(600), 101.0)]}, pg_url) as rig:
        start_at = time.time() + 6.0  # both processes are importing by then: a start barrier
        spec = {
            "db_url": pg_url,
            "base_url": rig.server.base_url,
            "api_key": rig.key,
            "api_secret": rig.secret,
            "user_id": rig.user_id,
            "namespace": rig.namespace,
            "action": "enter",
            "now": rig.clock.now().isoformat(),
            "candidate": {
                "symbol": "SOL/USDT",
                "entry_low": "99.5",
                "entry_high": "100.5",
                "stop": "85",
                "pt1": "120",
                "pt2": "140",
            },
            "start_at": start_at,
        }
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[3] / "src"), *sys.path]),
        }
        workers = [
            subprocess.Popen(
                [sys.executable, str(WORKER), json.dumps(spec)], env=env, stdout=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        results = []
        for worker in workers:
            out, _ = worker.communicate(timeout=90)
            assert worker.returncode == 0
            results.append(json.loads(out.strip().splitlines()[-1]))

        assert sorted(r["passed"] for r in results) == [False, True]
        loser = next(r for r in results if not r["passed"])
        assert loser["code"] in ("G10", "G05")  # locked out, or saw the winner's resting entry
        positions = await rig.store.open_positions(rig.user_id)
        assert len(positions) == 1
        assert len([o for o in rig.venue_orders() if o["side"] == "Buy"]) == 1
        async with rig.sessions() as session:
            evaluations = (
                await session.scalars(
                    select(GateEvaluationRow).where(GateEvaluationRow.user_id == rig.user_id)
                )
            ).all()
        assert sorted(e.passed for e in evaluations) == [False, True]
