"""The engine as its own process against a sandbox at --base-url, for the crash test.

It trades the sandbox's stepped replay: each tick first moves the sandbox's market clock (admin API),
then runs the engine's cycle, so the market moves only while an engine is alive. Prints "ready" once
the engine is built and cycling; runs until killed.

    python tests/integration/engine/engine_process.py --base-url URL --db PATH --key K --secret S --pairs A,B
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import httpx

from qari.config import load_settings
from qari.core.clocks import ManualClock
from qari.core.time import from_ms
from qari.engine.kernel import SteppedVenueSleeper, build_sandbox
from qari.engine.scheduler import Cadence


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--pairs", required=True)
    parser.add_argument("--step", type=int, default=900)
    args = parser.parse_args()
    async with httpx.AsyncClient(base_url=args.base_url, timeout=30) as admin:
        now_ms = int((await admin.get("/admin/clock")).json()["now_ms"])
        clock = ManualClock(from_ms(now_ms))

        async def advance(ms: int) -> None:
            (await admin.post("/admin/clock", json={"set_ms": ms})).raise_for_status()

        run = await build_sandbox(
            load_settings(data_dir=args.db.parent, engine_mode="off"),
            base_url=args.base_url,
            accounts={1: (args.key, args.secret)},
            database_url=f"sqlite+aiosqlite:///{args.db}",
            clock=clock,
            sleep_until=SteppedVenueSleeper(clock, advance),
            cadence=Cadence(cycle_seconds=args.step, manage_seconds=args.step),
            symbols=args.pairs.split(","),
        )
        print("ready", flush=True)
        try:
            await run.engine.run()
        finally:
            await run.engine.stop()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
