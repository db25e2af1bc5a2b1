"""Load on the web role: `qari web` with N uvicorn workers, GET /api/v1/me and GET /api/v1/positions at
200 connections (issue 18 item 6: >= 1,500 req/s with p99 < 250 ms on the 2-core machine).

Starts `qari web` (engine off, mounted sandbox off, QARI_WEB_WORKERS=N) on a fresh SQLite file
(default) or a fresh database on the PostgreSQL server of --database-url (dropped afterwards), registers
a user through the API, gives it --positions open positions, then drives each endpoint for --seconds
with one of two load generators:

* `wrk` (default; **needs the `wrk` binary: `apt-get install -y wrk` on Debian/Ubuntu, `brew install
  wrk` on macOS**): C, event-driven, `--threads` threads (default 1) holding the connections, with
  benchmarks/web_wrk.lua adding the bearer token and printing the figures. It needs a few percent of
  a core where Locust needs one, which matters when the server shares the machine's 2 cores with it.
* `locust` (`--tool locust`, pure Python, no system package): headless FastHttpUser, one keep-alive
  connection per user, no think time (benchmarks/web_locustfile.py). On a 2-core machine it takes
  most of a core from the server; its figures are a floor, not the server's capacity.

The load generator runs on the same machine as the server, so the CPU seconds of both are printed
beside the figures; the server's CPU per request does not depend on what else the machine is doing.
One line per run:

    web: endpoint=/api/v1/me workers=2 connections=200 tool=wrk rps=X p50=Yms p99=Zms errors=E
         requests=R server_cpu=As (C ms/request) loadgen_cpu=Bs [db_cpu=Ds] load_average=L

    python benchmarks/web_load.py [--workers 1 2] [--connections 200] [--seconds 10]
                                  [--tool wrk|locust] [--threads 1]
                                  [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.pg_database

from tests.pg_database import fresh_database  # noqa: E402

ENDPOINTS = ("/api/v1/me", "/api/v1/positions")
EMAIL = "load@example.com"
PASSWORD = "Correct-Horse-Battery-9"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def web_role(
    data_dir: Path, database_url: str, workers: int, port: int, src: Path
) -> Iterator[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QARI_")} | {
        "PYTHONPATH": str(src),
        "QARI_DATA_DIR": str(data_dir),
        "QARI_DATABASE_URL": database_url,
        "QARI_SANDBOX_ENABLED": "false",
        "QARI_PORT": str(port),
        "QARI_WEB_WORKERS": str(workers),
        "QARI_LOG_LEVEL": "WARNING",
    }
    log = (data_dir.parent / f"{data_dir.name}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qari", "web"], env=env, stdout=subprocess.DEVNULL, stderr=log, text=True
    )
    try:
        deadline = time.monotonic() + 180  # a loaded 2-core machine imports slowly
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"qari web exited with {proc.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        else:
            raise SystemExit("qari web did not answer /healthz within 180 s")
        # every worker up: each answers from its own pid, and uvicorn starts them together
        time.sleep(2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def seed(base: str, database_url: str, positions: int) -> str:
    """Register and log in through the API; insert open positions for the user. Returns the token."""
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.post("/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD})
        assert r.status_code in (201, 202), r.text
        r = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert r.status_code == 200, r.text
        token: str = r.json()["access_token"]
        user_id: int = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["id"]
    asyncio.run(_positions(database_url, user_id, positions))
    return token


async def _positions(database_url: str, user_id: int, count: int) -> None:
    from qari.adapters.persistence.db import make_engine, make_sessionmaker, transaction
    from qari.adapters.persistence.tables.trading import PositionRow

    now = dt.datetime.now(dt.UTC)
    engine = make_engine(database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            for i in range(count):
                at = now - dt.timedelta(hours=i)
                session.add(
                    PositionRow(
                        user_id=user_id,
                        exchange_id="sandbox",
                        symbol=f"C{i}/USDT",
                        base=f"C{i}",
                        state="open",
                        leg2_state="reserved",
                        entry_price=Decimal(100),
                        structural_stop=Decimal(85),
                        stop_price=Decimal(85),
                        pt1=Decimal(120),
                        pt2=Decimal(140),
                        leg1_qty=Decimal(1),
                        leg2_qty=Decimal(1),
                        planned_r_quote=Decimal(15),
                        fee_rate=Decimal("0.001"),
                        bought_qty=Decimal(1),
                        sold_qty=Decimal(0),
                        fee_base=Decimal(0),
                        fees_quote=Decimal("0.1"),
                        cost_quote=Decimal(100),
                        proceeds_quote=Decimal(0),
                        leg1_expires_at=at,
                        leg2_expires_at=at,
                        opened_at=at,
                        updated_at=at,
                    )
                )
    finally:
        await engine.dispose()


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU of a process and its children (uvicorn workers, the signer)."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def _watch(cmd: list[str], env: dict[str, str]) -> tuple[str, float]:
    """Run the load generator to its end; its stdout and its CPU seconds."""
    loadgen = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    handle = psutil.Process(loadgen.pid)
    used = 0.0
    while loadgen.poll() is None:
        with contextlib.suppress(psutil.NoSuchProcess):
            used = max(used, cpu_seconds(handle))
        time.sleep(0.2)
    out, err = loadgen.communicate()
    if loadgen.returncode:
        raise SystemExit(f"{cmd[0]} failed ({loadgen.returncode}): {err.strip()[-500:]}")
    return out, used


def database_cpu(database_url: str) -> float:
    """CPU seconds of the PostgreSQL backends serving `database_url`'s database (0 on SQLite, whose
    work is in the server's own processes): part of each request's cost on the same machine."""
    if not database_url.startswith("postgresql"):
        return 0.0
    name = database_url.rsplit("/", 1)[1]
    total = 0.0
    for p in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if f" {name} " in " ".join(p.info["cmdline"] or ()) + " ":
                t = p.cpu_times()
                total += t.user + t.system
    return total


def drive_locust(base: str, token: str, path: str, args: argparse.Namespace, out: Path) -> dict[str, float]:
    env = dict(os.environ) | {"QARI_BENCH_TOKEN": token, "QARI_BENCH_PATH": path}
    prefix = out / path.strip("/").replace("/", "_")
    cmd = [
        str(Path(sys.executable).with_name("locust")),
        "-f", str(ROOT / "benchmarks" / "web_locustfile.py"),
        "--headless", "--only-summary", "--skip-log-setup",
        "-u", str(args.connections), "-r", str(args.connections), "-t", f"{args.seconds}s",
        "--host", base, "--csv", str(prefix), "--stop-timeout", "5",
    ]  # fmt: skip
    _, used = _watch(cmd, env)
    with (prefix.parent / f"{prefix.name}_stats.csv").open() as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return {
        "rps": float(row["Requests/s"]),
        "p50": float(row["50%"]),
        "p99": float(row["99%"]),
        "errors": int(row["Failure Count"]),
        "requests": int(row["Request Count"]),
        "loadgen_cpu": used,
    }


def drive_wrk(base: str, token: str, path: str, args: argparse.Namespace, out: Path) -> dict[str, float]:
    env = dict(os.environ) | {"QARI_BENCH_TOKEN": token}
    cmd = [
        WRK, "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.seconds}s",
        "--timeout", "10s", "-s", str(ROOT / "benchmarks" / "web_wrk.lua"), base + path,
    ]  # fmt: skip
    stdout, used = _watch(cmd, env)
    figures = json.loads(stdout.strip().splitlines()[-1])
    return {
        "rps": figures["requests"] / (figures["duration_us"] / 1e6),
        "p50": figures["p50_us"] / 1000,
        "p99": figures["p99_us"] / 1000,
        "errors": figures["errors"],
        "requests": figures["requests"],
        "loadgen_cpu": used,
    }


WRK = "wrk"
DRIVERS = {"wrk": drive_wrk, "locust": drive_locust}


def run(args: argparse.Namespace, workers: int, database_url: str, tmp: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with web_role(tmp / f"var{workers}", database_url, workers, port, args.src) as proc:
        token = seed(base, database_url, args.positions)
        server = psutil.Process(proc.pid)
        for path in ENDPOINTS:
            before, db_before = cpu_seconds(server), database_cpu(database_url)
            row = DRIVERS[args.tool](base, token, path, args, tmp)
            used = cpu_seconds(server) - before
            db_used = max(0.0, database_cpu(database_url) - db_before)  # an ended backend took its CPU
            per_request = used * 1000 / max(1, int(row["requests"]))
            db_part = f" db_cpu={db_used:.1f}s" if database_url.startswith("postgresql") else ""
            print(
                f"web: endpoint={path} workers={workers} connections={args.connections} tool={args.tool} "
                f"rps={row['rps']:.0f} p50={row['p50']:.0f}ms p99={row['p99']:.0f}ms "
                f"errors={row['errors']:.0f} requests={row['requests']:.0f} "
                f"server_cpu={used:.1f}s ({per_request:.2f} ms/request) "
                f"loadgen_cpu={row['loadgen_cpu']:.1f}s{db_part} load_average={os.getloadavg()[0]:.1f}",
                flush=True,
            )
            if row["errors"]:
                tail = (tmp / f"var{workers}.log").read_text().strip().splitlines()[-3:]
                print("web: the server said, last:", *tail, sep="\n  ", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--positions", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--tool", choices=sorted(DRIVERS), default="wrk", help="the load generator")
    parser.add_argument("--threads", type=int, default=1, help="wrk's threads")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the qari source to serve (compare)")
    args = parser.parse_args()
    if args.tool == "wrk" and shutil.which(WRK) is None:
        print(
            "web: the wrk load generator is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or "
            "`brew install wrk` (macOS), or run with --tool locust",
            file=sys.stderr,
        )
        return 2
    load = os.getloadavg()[0]
    print(f"web: cpus={os.cpu_count()} load_average={load:.1f} (the load generator shares the machine)")
    for workers in args.workers:
        with tempfile.TemporaryDirectory(prefix="qari-web-load-") as d:
            tmp = Path(d)
            if args.database_url:
                with fresh_database(args.database_url, prefix="qari_bench") as url:
                    run(args, workers, url, tmp)
            else:
                run(args, workers, f"sqlite+aiosqlite:///{tmp / 'qari.db'}", tmp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
