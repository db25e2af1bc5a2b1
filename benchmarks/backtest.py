"""Backtest throughput: the 26 pairs with 15m data (+4h/1d context) over their full 8 months.

Runs the full engine (analysis -> gate -> orders -> management) in backtest mode and prints candles
per second, total seconds and peak memory. Goal: the whole run in under 60 s.

With `--cli` it runs the command a user runs, `python -m qari backtest --quiet`, as a child process
and prints its wall seconds, the CPU seconds of the engine process and of its analysis processes
apart, each one's peak memory and the machine's load (other work on the machine inflates all three).

    python benchmarks/backtest.py [--data DIR] [--pairs BTC,ETH] [--start 2024-05-01] [--end ...] [--cli]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qari.backtest.data import load_market_data
from qari.backtest.runner import BacktestConfig, BacktestError, run_backtest
from qari.cli.backtest import parse_pairs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the data locator lives with the tests
from tests.market_data import MARKET_DATA as DEFAULT_DATA


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pairs", default=None)
    parser.add_argument("--start", default=None)
    parser.add_argument("--end", default=None)
    parser.add_argument("--workers", type=int, default=None, help="analysis processes (default: CPUs)")
    parser.add_argument("--cli", action="store_true", help="time `python -m qari backtest` as a child")
    args = parser.parse_args()
    if args.cli:
        return run_cli(args)
    start = dt.datetime.fromisoformat(args.start).replace(tzinfo=dt.UTC) if args.start else None
    end = dt.datetime.fromisoformat(args.end).replace(tzinfo=dt.UTC) if args.end else None
    pairs = parse_pairs([args.pairs]) if args.pairs else None
    data = load_market_data(args.data, pairs, start, end)
    candles = data.candle_count()
    print(
        f"pairs: {len(data.pairs)} period: {data.start:%Y-%m-%d} -> {data.end:%Y-%m-%d} candles: {candles:,}"
    )
    config = BacktestConfig(data_dir=args.data, pairs=pairs, start=start, end=end)
    if args.workers is not None:
        config = dataclasses.replace(config, analysis_workers=args.workers)
    print(f"analysis workers: {config.analysis_workers} (processes analysing ahead of the clock)")
    began = time.perf_counter()
    try:
        result = asyncio.run(run_backtest(config, progress=False))
    except BacktestError as e:
        print(f"backtest failed: {e}")
        return 1
    seconds = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as out:
        result.write(Path(out))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024
    s = result.summary
    print(f"trades: {s.trades}  win rate: {s.win_rate * 100:.1f} %  net: {s.net_pnl_usdt:.2f} USDT")
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    worker_cpu = workers.ru_utime + workers.ru_stime
    print(f"total seconds: {seconds:.1f} (CPU: engine {cpu:.1f} s, analysis workers {worker_cpu:.1f} s)")
    print(f"candles per second: {candles / seconds:,.0f}")
    print(f"peak memory: {peak_mb:,.0f} MB")
    full = load_market_data(args.data, pairs).candle_count()
    if full > candles:
        print(f"projected for all {full:,} candles of the data: {full / (candles / seconds):,.0f} s")
    projected = seconds if full <= candles else full / (candles / seconds)
    print(f"goal (whole data < 60 s): {'met' if projected < 60 else 'NOT met'}")
    return 0


# Runs the qari console script in the child and, at its exit (after the analysis pools are shut down
# and reaped), writes the child's own resource usage and that of the processes it waited for.
CLI_CHILD = """
import atexit, json, resource, sys
report = sys.argv.pop(1)
def write():
    own, pool = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    usage = {name: {"cpu": u.ru_utime + u.ru_stime, "peak_kb": u.ru_maxrss} for name, u in
             (("engine", own), ("analysis", pool))}
    with open(report, "w") as f:
        json.dump(usage, f)
atexit.register(write)
sys.argv[0] = "qari"
from qari.cli import main
main()
"""


def run_cli(args: argparse.Namespace) -> int:
    """The CLI run as a user starts it: wall, CPU per process (engine / analysis workers), peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "usage.json"
        command = [sys.executable, "-c", CLI_CHILD, str(report), "backtest", "--data", str(args.data)]
        command += ["--out", str(Path(tmp) / "out"), "--quiet"]
        for flag, value in (("--start", args.start), ("--end", args.end)):
            if value:
                command += [flag, value]
        if args.pairs:
            command += ["--pairs", *args.pairs.split(",")]
        load_before = os.getloadavg()[0]
        began = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - began
        load_after = os.getloadavg()[0]
        if done.returncode != 0 or not report.exists():
            print(f"backtest failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
            return 1
        usage = json.loads(report.read_text())
    whole = resource.getrusage(resource.RUSAGE_CHILDREN)
    engine, analysis = usage["engine"], usage["analysis"]
    print(done.stdout.strip().splitlines()[0] if done.stdout.strip() else "(no headline)")
    print(f"wall seconds: {wall:.1f}")
    total = whole.ru_utime + whole.ru_stime
    cpu = f"engine process {engine['cpu']:.1f}, analysis processes {analysis['cpu']:.1f}, total {total:.1f}"
    print(f"CPU seconds: {cpu}")
    engine_mb, analysis_mb = engine["peak_kb"] / 1024, analysis["peak_kb"] / 1024
    print(f"peak memory: engine {engine_mb:,.0f} MB, largest analysis process {analysis_mb:,.0f} MB")
    print(f"machine load (1 min) before/after: {load_before:.1f} / {load_after:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
