"""Benchmark: the full 11-layer pass over every pair of binance-spot-2024 (15m where present else 1h,
plus 4h and 1d, ~500 candles each), on one core.

Prints pairs per second, ms per pair cold (first pass in this process) and warm (median of repeated
passes), and the cost of updating with one new candle (append + re-analyse one pair).
Usage: python benchmarks/scan.py [DATA_DIR] [--passes N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from qari.analysis.engine import analyse_many
from qari.core.market import CandleSeries, MarketContext
from qari.core.time import timeframe_ms
from qari.market.dominance import load_dominance
from qari.market.scan_pass import load_series
from qari.market.snapshots import build_snapshots

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the data locator lives with the tests
from tests.market_data import MARKET_DATA

DEFAULT = str(MARKET_DATA)
CANDLES = 500


def _tail(by_tf: dict[str, CandleSeries], end_ms: int) -> dict[str, CandleSeries]:
    return {tf: s.upto(end_ms - timeframe_ms(tf)).tail(CANDLES + 1) for tf, s in by_tf.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=DEFAULT)
    ap.add_argument("--passes", type=int, default=7)
    args = ap.parse_args()
    data = Path(args.data)
    if not data.is_dir():
        raise SystemExit(f"no candle data at {data}: pass DATA_DIR or set QARI_MARKET_DATA")
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

    t, c = time.perf_counter(), time.process_time()
    snaps = build_snapshots(before, at_ms, symbols=symbols, context=ctx)
    verdicts = list(analyse_many(snaps).values())
    cold, cold_cpu = time.perf_counter() - t, time.process_time() - c

    walls, cpus = [], []
    for _ in range(args.passes):
        t, c = time.perf_counter(), time.process_time()
        snaps = build_snapshots(before, at_ms, symbols=symbols, context=ctx)
        verdicts = list(analyse_many(snaps).values())
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    warm, warm_cpu = statistics.median(walls), statistics.median(cpus)

    entry_tf = {sym: ("15m" if "15m" in by_tf else "1h") for sym, by_tf in series.items()}
    t, c = time.perf_counter(), time.process_time()
    after = {}
    for sym in symbols:
        grown = dict(before[sym])
        grown[entry_tf[sym]] = series[sym][entry_tf[sym]]  # append the held-back candle
        after[sym] = grown
    snaps = build_snapshots(after, at_ms + timeframe_ms("15m"), symbols=symbols, context=ctx)
    updated = list(analyse_many(snaps).values())
    update, update_cpu = time.perf_counter() - t, time.process_time() - c

    with_15m = sum(1 for s in symbols if entry_tf[s] == "15m")
    print(
        f"pairs: {n} ({with_15m} with 15m, {n - with_15m} on 1h; plus 4h and 1d), <= {CANDLES} candles each"
    )
    print(f"load from feather: {load_s:.2f} s (once per process, not part of a pass)")
    print(
        "wall = elapsed; cpu = this process's CPU time (one core, independent of other load on the machine)"
    )
    print(
        f"cold pass: {cold * 1000:.0f} ms wall, {cold / n * 1000:.2f} "
        f"ms/pair wall, {cold_cpu / n * 1000:.2f} ms/pair cpu"
    )
    print(
        f"warm pass (median of {args.passes}): {warm * 1000:.0f} ms "
        f"wall, {warm / n * 1000:.2f} ms/pair wall, "
        f"{warm_cpu / n * 1000:.2f} ms/pair cpu; {n / warm:.0f} pairs/s wall, {n / warm_cpu:.0f} pairs/s cpu"
    )
    print(
        f"140 pairs warm: {warm / n * 140 * 1000:.0f} ms wall, "
        f"{warm_cpu / n * 140 * 1000:.0f} ms cpu (goal < 1000)"
    )
    print(
        f"update with one new candle (append + re-analyse): {update / n * 1000:.2f} ms/pair wall, "
        f"{update_cpu / n * 1000:.2f} ms/pair cpu"
    )
    print(
        f"candidates: {sum(v.candidate is not None for v in verdicts)} in the pass, "
        f"{sum(v.candidate is not None for v in updated)} after the update"
    )


if __name__ == "__main__":
    main()
