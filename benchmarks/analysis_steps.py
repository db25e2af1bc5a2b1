"""Benchmark: the backtest's per-step analysis alone, on one core: `screen` at every step the sweep
leaves, through `SweptScreen` (which keeps whole-series features), as the backtest's workers run it.

Prints the sweep's and the steps' CPU seconds and a digest of the verdicts (equal digests: the same
verdicts, so a change can be checked against its base: run this with the base's PYTHONPATH too).
Usage: python benchmarks/analysis_steps.py [--data DIR] [--steps N]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

from qari.backtest.data import load_market_data
from qari.backtest.feed import ReplayMarketFeed
from qari.backtest.screening import sweep_snapshots
from qari.core.time import TIMEFRAME_SECONDS, to_ms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the data locator lives with the tests
from tests.market_data import MARKET_DATA


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=MARKET_DATA)
    parser.add_argument("--steps", type=int, default=None, help="analyse only the first N (symbol, step)s")
    args = parser.parse_args()
    market = load_market_data(args.data)
    feed = ReplayMarketFeed("backtest", market.series, market.pairs)
    step_ms = TIMEFRAME_SECONDS[market.entry_timeframe] * 1000
    end_ms = to_ms(market.end)
    first_ms = -(-to_ms(market.start) // step_ms) * step_ms  # as `build_backtest` steps
    began = time.process_time()
    swept = sweep_snapshots(feed.snapshots_at(end_ms), first_ms, end_ms, step_ms, 1)
    sweep_seconds = time.process_time() - began
    wanted = [
        snapshot
        for at_ms in range(first_ms, end_ms + 1, step_ms)
        for symbol, snapshot in feed.snapshots_at(at_ms).items()
        if swept.wanted(symbol, at_ms)
    ][: args.steps]
    digest = hashlib.sha256()
    began = time.process_time()
    for snapshot in wanted:
        digest.update(repr(swept(snapshot)).encode())
    seconds = time.process_time() - began
    print(f"sweep: {sweep_seconds:.2f} s CPU")
    each_ms = seconds / max(len(wanted), 1) * 1e3
    print(f"steps analysed: {len(wanted)}  CPU: {seconds:.2f} s ({each_ms:.3f} ms each)")
    print(f"verdicts digest: {digest.hexdigest()[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
