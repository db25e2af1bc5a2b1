"""A separate OS process running one execution step, for the crash and race tests.

    python worker.py '<json>'  with keys: db_url, base_url, api_key, api_secret, user_id, namespace,
    action ("enter" | "manage"), now (ISO), candidate {...}, crash_at ("persisted" | "sent" | null),
    crash_role (order role to crash on), start_at (epoch seconds: a start barrier for races)

It exits with status 9 at the crash point (os._exit: no clean-up, like a killed process) and prints
one JSON line describing the gate decision otherwise.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
import time
from decimal import Decimal
from typing import Any

from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, Credentials
from qari.adapters.locks import entry_lock_for
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.repositories.trading import SqlTradingStore
from qari.core.clocks import ManualClock
from qari.engine.execution import ExecutionConfig, StructureSignals, UserExecution
from qari.risk.candidate import CandidateLevels
from qari.risk.profile import TradingProfile
from qari.risk.sizing import AllocationMode
from qari.trading.records import OrderRecord


def profile_for(user_id: int, now: dt.datetime) -> TradingProfile:
    return TradingProfile(
        user_id=user_id,
        exchange_id="sandbox",
        plan="pro",
        capacity=10,
        allocation_mode=AllocationMode.FIXED,
        allocation_value=Decimal(200),
        permissions_verified_at=now,
    )


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    now = dt.datetime.fromisoformat(spec["now"])
    engine = make_engine(spec["db_url"])
    sessions = make_sessionmaker(engine)
    clock = ManualClock(now)

    async def credentials() -> Credentials:
        return Credentials(spec["api_key"], spec["api_secret"])

    def checkpoint(name: str, order: OrderRecord) -> None:
        if name == spec.get("crash_at") and order.role.value == spec.get("crash_role"):
            os._exit(9)

    client = CcxtExchangeClient("sandbox", credentials, base_url=spec["base_url"], timeout_ms=5000)
    execution = UserExecution(
        client,
        SqlTradingStore(sessions),
        entry_lock_for(engine, sessions, clock),
        clock,
        ExecutionConfig(namespace=spec["namespace"]),
        signals=StructureSignals(bullish_choch_15m=lambda _s: False, latest_higher_low=lambda _s: None),
        checkpoint=checkpoint,
    )
    try:
        profile = profile_for(spec["user_id"], now)
        await client.load_markets()
        if spec.get("start_at"):
            time.sleep(max(0.0, spec["start_at"] - time.time()))
        if spec["action"] == "enter":
            c = spec["candidate"]
            candidate = CandidateLevels(
                c["symbol"],
                Decimal(c["entry_low"]),
                Decimal(c["entry_high"]),
                Decimal(c["stop"]),
                Decimal(c["pt1"]),
                Decimal(c["pt2"]),
                "race",
            )
            outcome = await execution.enter(profile, candidate)
            blocking = outcome.decision.blocking
            return {"passed": outcome.decision.passed, "code": None if blocking is None else blocking.code}
        await execution.manage(profile)
        return {"managed": True}
    finally:
        await client.close()
        await engine.dispose()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))))
