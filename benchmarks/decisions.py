"""Benchmark: decision-record size per cycle for every pair of binance-spot-2024 (1h entries, 4h, 1d,
BTC context), over consecutive hourly cycles stored through `SqlDecisionRecorder` into SQLite.

Prints, per cycle, the bytes written (verdict/inputs JSON + candle windows not stored before) and
the database file size at the end; the first cycle stores every window, later ones mostly the new
1h windows (4h/1d windows are shared until their next close, BTC's by every symbol).
Usage: python benchmarks/decisions.py [DATA_DIR] [--cycles N] [--pg postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.decisions import SqlDecisionRecorder
from qari.analysis.engine import analyse_many
from qari.core.time import from_ms
from qari.decisions import record_analysis
from qari.market.candle_files import discover, load_candle_file
from qari.market.snapshots import build_snapshots

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the data locator lives with the tests
from tests.market_data import MARKET_DATA
from tests.pg_database import fresh_database

START_MS = 1_717_200_000_000  # 2024-06-01 00:00 UTC


async def _database_size(engine: Any, pg: bool, tmp: str) -> int:
    if not pg:
        return Path(tmp, "decisions.db").stat().st_size
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_database_size(current_database())"))).scalar_one())


async def main(data: Path, cycles: int, pg: str | None, tmp: str) -> None:
    files = discover(data)
    pairs = sorted({p for p, tf in files if tf == "1h"})
    series = {
        p: {tf: load_candle_file(files[(p, tf)]) for tf in ("1h", "4h", "1d") if (p, tf) in files}
        for p in pairs
    }
    url = pg or f"sqlite+aiosqlite:///{tmp}/decisions.db"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_engine(url)
    recorder = SqlDecisionRecorder(make_sessionmaker(engine), retention=dt.timedelta(days=7))
    sizes = []
    for i in range(cycles):
        at_ms = START_MS + i * 3_600_000
        snaps = build_snapshots(series, at_ms, symbols=pairs)
        verdicts = analyse_many(snaps)
        started = time.perf_counter()
        records = [record_analysis(snaps[s], verdicts[s]) for s in snaps]
        await recorder.store("binance", "backtest", from_ms(at_ms), records)
        took = time.perf_counter() - started
        sizes.append(await _database_size(engine, pg is not None, tmp))
        print(
            f"cycle {i + 1}: {len(records)} pairs, {recorder.sizes.per_cycle[-1] / 1e6:.2f} MB written, "
            f"recorded in {took:.2f} s, database {sizes[-1] / 1e6:.2f} MB"
        )
    await engine.dispose()
    s = recorder.sizes
    print(
        f"{s.decisions} decisions: JSON {s.json_bytes / 1e6:.2f} MB, "
        f"candles {s.candle_bytes / 1e6:.2f} MB "
        f"({s.candle_bytes_undeduplicated / 1e6:.2f} MB without de-duplication); after the first "
        f"cycle {sum(list(s.per_cycle)[1:]) / max(1, len(s.per_cycle) - 1) / 1e6:.2f} MB written per cycle, "
        f"the database grew {(sizes[-1] - sizes[0]) / max(1, cycles - 1) / 1e6:.2f} MB per cycle"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default=str(MARKET_DATA))
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--pg", help="a PostgreSQL server URL (postgresql+asyncpg://...): measure there")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        pg = stack.enter_context(fresh_database(args.pg, "qari_bench")) if args.pg else None
        asyncio.run(main(Path(args.data), args.cycles, pg, tmp))
