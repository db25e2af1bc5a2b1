"""Benchmark: the full 11-layer pass over every pair of binance-spot-2024 (15m where present else 1h,
plus 4h and 1d, ~500 candles each), on one core.

Prints pairs per second, ms per pair cold (first pass in this process) and warm (median of repeated
passes), and the cost of updating with one new candle (append + re-analyse one pair).
Usage: python benchmarks/scan.py [DATA_DIR] [--passes N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from qari.analysis.engine import analyse
from qari.core.market import CandleSeries, MarketContext
from qari.core.time import timeframe_ms
from qari.market.dominance import load_dominance
from qari.market.scan_pass import load_series
from qari.market.snapshots import build_snapshots

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "market" / "binance-spot-2024"
CANDLES = 500


def _tail(by_tf: dict[str, CandleSeries], end_ms: int) -> dict[str, CandleSeries]:
    return {tf: s.upto(end_ms - timeframe_ms(tf)).tail(CANDLES + 1) for tf, s in by_tf.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=str(DEFAULT))
    ap.add_argument("--passes", type=int, default=7)
    args = ap.parse_args()
    data = Path(args.data)
    t = time.perf_counter()
    full = load_series(data)
    load_s = time.perf_counter() - t
    end_ms = min(int(s["1d"].ts[-1]) for s in full.values() if "1d" in s)
    series = {sym: _tail(by_tf, end_ms) for sym, by_tf in full.items()}
    # The newest candle of each series is held back and used for the one-candle update.
    before = {sym: {tf: s.head(len(s) - 1) for tf, s in by_tf.items()} for sym, by_tf in series.items()}
    symbols = sorted(before)
    n = len(symbols)
    dom_path = data.parents[1] / "dominance" / "btc_dominance.json"
    ctx = load_dominance(dom_path).into(MarketContext()) if dom_path.is_file() else MarketContext()
    at_ms = max(int(s.ts[-1]) + timeframe_ms(tf) for by_tf in before.values() for tf, s in by_tf.items())

    t = time.perf_counter()
    snaps = build_snapshots(before, at_ms, symbols=symbols, context=ctx)
    verdicts = [analyse(s) for s in snaps.values()]
    cold = time.perf_counter() - t

    warm_runs = []
    for _ in range(args.passes):
        t = time.perf_counter()
        snaps = build_snapshots(before, at_ms, symbols=symbols, context=ctx)
        verdicts = [analyse(s) for s in snaps.values()]
        warm_runs.append(time.perf_counter() - t)
    warm = statistics.median(warm_runs)

    entry_tf = {sym: ("15m" if "15m" in by_tf else "1h") for sym, by_tf in series.items()}
    t = time.perf_counter()
    after = {}
    for sym in symbols:
        grown = dict(before[sym])
        grown[entry_tf[sym]] = series[sym][entry_tf[sym]]  # append the held-back candle
        after[sym] = grown
    next_at = at_ms + timeframe_ms("15m")
    snaps = build_snapshots(after, next_at, symbols=symbols, context=ctx)
    updated = [analyse(s) for s in snaps.values()]
    update = time.perf_counter() - t

    with_15m = sum(1 for s in symbols if entry_tf[s] == "15m")
    candidates = sum(v.candidate is not None for v in verdicts)
    print(f"pairs: {n} ({with_15m} with 15m, {n - with_15m} on 1h), candles per series <= {CANDLES}")
    print(f"load from feather: {load_s:.2f} s (once per process; not part of the pass)")
    print(f"cold pass: {cold * 1000:.0f} ms total, {cold / n * 1000:.2f} ms per pair")
    print(
        f"warm pass: {warm * 1000:.0f} ms total, {warm / n * 1000:.2f} ms per pair, {n / warm:.0f} pairs/s "
        f"(median of {args.passes})"
    )
    print(f"140 pairs warm (extrapolated): {warm / n * 140 * 1000:.0f} ms")
    print(f"update with one new candle: {update / n * 1000:.2f} ms per pair ({update * 1000:.0f} ms for all)")
    print(
        f"candidates in the pass: {candidates}; after the update: "
        f"{sum(v.candidate is not None for v in updated)}"
    )


if __name__ == "__main__":
    main()
