"""The engine as its own process against a sandbox at --base-url, for the crash test.

It trades the sandbox's stepped replay: each tick first moves the sandbox's market clock (admin API),
then runs the engine's cycle, so the market moves only while an engine is alive. Each engine prints
"ready <pid>" once it is built and cycling, and runs until killed.

With --zygote the process imports everything once and then forks a fresh engine process for every
"spawn" line on stdin (answering "child <pid>"), so a test can kill and restart the engine many times
without paying Python's start-up each time. The zygote itself starts no threads and no event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import httpx

from qari.config import load_settings
from qari.core.clocks import ManualClock
from qari.core.time import from_ms
from qari.engine.kernel import build_sandbox
from qari.engine.scheduler import Cadence, SteppedVenueSleeper


async def run_engine(args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {args.admin_token}"}
    async with httpx.AsyncClient(base_url=args.base_url, timeout=30, headers=headers) as admin:
        now_ms = int((await admin.get("/admin/clock")).json()["now_ms"])
        clock = ManualClock(from_ms(now_ms))

        async def advance(ms: int) -> None:
            (await admin.post("/admin/clock", json={"set_ms": ms})).raise_for_status()

        run = await build_sandbox(
            load_settings(data_dir=args.db.parent, engine_mode="off", sandbox_protocol=args.protocol),
            base_url=args.base_url,
            accounts={1: (args.key, args.secret, *([args.passphrase] if args.passphrase else []))},
            database_url=f"sqlite+aiosqlite:///{args.db}",
            clock=clock,
            sleep_until=SteppedVenueSleeper(clock, advance),
            cadence=Cadence(cycle_seconds=args.step, manage_seconds=args.step),
            symbols=args.pairs.split(","),
        )
        print(f"ready {os.getpid()}", flush=True)
        try:
            await run.engine.run()
        finally:
            await run.engine.stop()


def zygote(args: argparse.Namespace) -> None:
    children: list[int] = []
    for line in sys.stdin:
        for pid in list(children):
            if os.waitpid(pid, os.WNOHANG)[0]:
                children.remove(pid)
        if line.strip() != "spawn":
            continue
        pid = os.fork()
        if pid == 0:
            sys.stdin.close()
            asyncio.run(run_engine(args))
            os._exit(0)
        children.append(pid)
        print(f"child {pid}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--pairs", required=True)
    parser.add_argument("--step", type=int, default=900)
    parser.add_argument("--protocol", default="bybit")
    parser.add_argument("--passphrase", default="")
    parser.add_argument("--zygote", action="store_true")
    args = parser.parse_args()
    if args.zygote:
        zygote(args)
    else:
        asyncio.run(run_engine(args))


if __name__ == "__main__":
    main()
