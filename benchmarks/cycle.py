"""One full engine cycle for 1,000 users holding sandbox keys on one sandbox exchange.

Shared work once (market data + 11-layer analysis for the exchange), then every user's unit of work
(gate every candidate, place entries) through unmodified ccxt over loopback HTTP, with the trade
journal in SQLite (default) or PostgreSQL (--database-url). The sandbox venue runs in a process of its
own, as a real exchange is another host, so the wall time is the engine's (`--venue-in-process` puts
it back in a thread of this process). Prints, for a cold cycle (every user enters) and a warm one (the
same candidates again: every gate blocks on the open position), what the cycle contained (users,
symbols, candidates, gate evaluations, entries, errors), its wall time, the CPU seconds of the engine
(and of its `qari worker` processes with --workers) and of the venue, and whether the 30 s goal is met.

    python benchmarks/cycle.py [--users 1000] [--concurrency 64] [--venue-in-process]
                               [--database-url postgresql+asyncpg://HOST/DB]
                               [--workers K --broker amqp://guest:guest@127.0.0.1:5672/]

With a PostgreSQL URL the run uses a new database on that server, dropped afterwards. With --workers
the units go through the task engine (Dramatiq on --broker, PostgreSQL required) to K `qari worker`
processes with --concurrency threads each. The last line reads
`cycle: users=N workers=K cold=Xs warm=Ys duplicates=D lost=L`, D and L counted on the venue (client
order ids seen twice) and in the journal (users whose cold-cycle unit has no record or no outcome).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from qari.adapters.simulator.harness import SandboxProcess, SandboxServer
from qari.config import load_settings
from qari.core.clocks import ManualClock
from qari.core.time import to_ms
from qari.engine.cycle import CycleReport, Timeouts
from qari.engine.kernel import build_sandbox
from qari.engine.roles import SandboxWorkerSpec, sandbox_worker_env
from qari.engine.scheduler import Cadence, SteppedVenueSleeper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # shared with the tests
from tests.pg_database import fresh_database

DATA = next(
    (
        p / "shared" / "data" / "market" / "binance-spot-2024"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "data" / "market" / "binance-spot-2024").is_dir()
    ),
    Path("../shared/data/market/binance-spot-2024"),
)
PAIRS = ("SUI/USDT", "APT/USDT", "AVAX/USDT", "BCH/USDT", "LTC/USDT", "INJ/USDT", "DOGE/USDT", "LINK/USDT")
# A moment of the replay with several fresh candidates, so the users' gates and orders really run.
AT = dt.datetime(2024, 8, 9, 15, 0, tzinfo=dt.UTC)


GOAL_SECONDS = 30.0


def process_cpu(processes: list[subprocess.Popen[bytes]]) -> float:
    """User + system CPU the processes have used so far (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for process in processes:
        try:
            with open(f"/proc/{process.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def describe(
    label: str, report: CycleReport, cpu: float, venue_cpu: float | None, worker_cpu: float | None
) -> None:
    units = report.units
    seconds = sorted(u.seconds for u in units) or [0.0]
    gate = [g for u in units if u.outcome for g in u.outcome.gate]
    sent = sum(u.outcome.orders_sent for u in units if u.outcome)
    errors = sum(1 for u in units if u.error)
    candidates = sum(len(s.candidates()) for s in report.scans)
    symbols = sum(len(s.verdicts) for s in report.scans)
    print(
        f"{label}: {report.seconds:.2f} s wall | {len(units)} users | {symbols} symbols analysed, "
        f"{candidates} candidates | {len(gate)} gate evaluations, {sent} entries | {errors} user errors",
        flush=True,
    )
    print(
        f"  per-user unit: median {statistics.median(seconds) * 1000:.0f} ms, "
        f"p95 {seconds[int(len(seconds) * 0.95) - 1] * 1000:.0f} ms, max {seconds[-1] * 1000:.0f} ms"
    )
    venue = "in this process" if venue_cpu is None else f"{venue_cpu:.1f} s in the venue process"
    workers = "" if worker_cpu is None else f" + {worker_cpu:.1f} s in its worker processes"
    print(f"  CPU: {cpu:.1f} s in the engine process{workers}, {venue}")
    verdict = "met" if report.seconds < GOAL_SECONDS else "NOT met"
    print(f"  goal (< {GOAL_SECONDS:.0f} s): {verdict}", flush=True)


async def bench(
    users: int,
    database_url: str | None,
    tmp: Path,
    at0: dt.datetime,
    in_process: bool,
    concurrency: int,
    workers: int,
    broker: str | None,
) -> int:
    start = at0 - dt.timedelta(minutes=5)
    venue = SandboxServer if in_process else SandboxProcess
    with venue.start(data_dir=DATA, symbols=[*PAIRS, "BTC/USDT"], stepped_start_ms=to_ms(start)) as sandbox:
        where = (
            "in this process (a thread)" if in_process else "in its own process (as a real venue would be)"
        )
        print(f"sandbox venue: {where}, {sandbox.base_url}", flush=True)
        began = time.perf_counter()
        accounts = {i: sandbox.create_key(balances={"USDT": "10000"}) for i in range(1, users + 1)}
        print(f"created {users} sandbox keys in {time.perf_counter() - began:.1f} s", flush=True)
        clock = ManualClock(start)

        async def advance(ms: int) -> None:
            await asyncio.to_thread(sandbox.set_time, ms)

        def venue_cpu() -> float | None:
            return None if isinstance(sandbox, SandboxServer) else sandbox.cpu_seconds()

        queue = f"qari-bench-{uuid.uuid4().hex[:10]}"
        database_url = database_url or f"sqlite+aiosqlite:///{tmp / 'cycle.db'}"
        run = await build_sandbox(
            load_settings(data_dir=tmp, engine_mode="off"),
            base_url=sandbox.base_url,
            accounts=accounts,
            database_url=database_url,
            clock=clock,
            sleep_until=SteppedVenueSleeper(clock, advance),
            cadence=Cadence(cycle_seconds=300, manage_seconds=300),
            symbols=PAIRS,
            timeouts=Timeouts(refresh_seconds=120, user_seconds=300, max_concurrent_users=concurrency),
            broker_url=broker if workers else None,
            queue=queue,
        )
        processes: list[subprocess.Popen[bytes]] = []
        if workers:
            from qari.adapters.tasks import spawn_worker

            spec = SandboxWorkerSpec(
                base_url=sandbox.base_url,
                timeout_ms=10_000,
                accounts=accounts,
                database_url=database_url,
                exchange_id="sandbox",
                cycle_seconds=300,
                concurrency=concurrency,
                stepped=True,
            )
            env = sandbox_worker_env(spec, tmp, str(broker), queue)
            processes = [spawn_worker(env, concurrency) for _ in range(workers)]
        where = f"{workers} `qari worker` processes via {broker}" if workers else "the engine process"
        print(f"users' units of work: in {where}, {concurrency} in flight at most (per process)", flush=True)
        walls: list[float] = []
        try:
            cycle = run.engine.cycle
            reports = []
            for label, at in (("cycle 1 (cold)", at0), ("cycle 2 (warm)", at0 + dt.timedelta(minutes=5))):
                await run.engine.scheduler.sleep_until(at)
                cpu, remote, pooled = time.process_time(), venue_cpu(), process_cpu(processes)
                report = await cycle.run_cycle(at)
                after = venue_cpu()
                describe(
                    label,
                    report,
                    time.process_time() - cpu,
                    None if after is None or remote is None else after - remote,
                    process_cpu(processes) - pooled if processes else None,
                )
                walls.append(report.seconds)
                reports.append(report)
            timing = cycle.metrics.timing("analysis", {"exchange": "sandbox"})
            print(f"shared analysis per cycle: {timing.total / max(timing.count, 1) * 1000:.0f} ms")
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(60)
            await run.engine.stop()
        ids = Counter(o["orderLinkId"] for key, _ in accounts.values() for o in sandbox.orders(key))
        duplicates = sum(n - 1 for n in ids.values() if n > 1)
        lost = sum(1 for u in reports[0].units if u.outcome is None)
        print(
            f"cycle: users={users} workers={workers} cold={walls[0]:.1f}s warm={walls[1]:.1f}s "
            f"duplicates={duplicates} lost={lost}",
            flush=True,
        )
    return 0


@contextlib.contextmanager
def fresh_journal(url: str | None) -> Iterator[str | None]:
    """A PostgreSQL URL names the server: the run gets a new, empty database there (dropped after), so
    positions left by an earlier run never block this one's entries. SQLite is always a new file."""
    if url is None or not url.startswith("postgresql"):
        yield url
        return
    with fresh_database(url, prefix="qari_bench") as fresh:
        yield fresh


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--concurrency", type=int, default=64, help="users' units of work in flight at once")
    parser.add_argument("--workers", type=int, default=0, help="`qari worker` processes (0: in-process)")
    parser.add_argument("--broker", default=None, help="amqp:// or redis:// URL (with --workers)")
    parser.add_argument("--at", default=AT.isoformat(), help="cycle time in the replay (ISO, UTC)")
    parser.add_argument(
        "--venue-in-process",
        action="store_true",
        help="serve the sandbox from a thread of this process (measures venue + engine together)",
    )
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"needs {DATA}")
        return 1
    if args.workers and not (args.broker and str(args.database_url).startswith("postgresql")):
        parser.error("--workers needs --broker and a PostgreSQL --database-url")
    with tempfile.TemporaryDirectory() as tmp, fresh_journal(args.database_url) as database_url:
        at = dt.datetime.fromisoformat(args.at)
        return asyncio.run(
            bench(
                args.users,
                database_url,
                Path(tmp),
                at,
                args.venue_in_process,
                args.concurrency,
                args.workers,
                args.broker,
            )
        )


if __name__ == "__main__":
    sys.exit(main())
