"""The engine-driven journey's market: real 2024 candles replayed by the platform's own sandbox.

Where to start the replay is not written down by hand: `first_engine_entry` runs the real engine in
backtest mode (the same analysis, 16-check gate and execution as `qari backtest`) over a stretch of the
data and returns the first cycle at which it enters a position. The browser journey starts the
sandbox's replay one cycle before that moment, so the engine of `qari serve` meets the same candles
and, for a freshly registered user who connected the sandbox, makes that trade.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from tests.market_data import locate_market_data

# The pairs the sandbox lists (BTC/USDT is also the analysis's market context) and the stretch of
# real candles searched: 2024-08-08 has fresh setups on SUI and INJ (tests/acceptance/test_mode_parity.py).
PAIRS = ("BTC/USDT", "SUI/USDT", "INJ/USDT")
SEARCH_FROM = dt.datetime(2024, 8, 8, 6, 0, tzinfo=dt.UTC)
SEARCH_TO = dt.datetime(2024, 8, 8, 23, 45, tzinfo=dt.UTC)
CYCLE = dt.timedelta(minutes=15)  # the engine's entry timeframe on this data


def market_data() -> Path | None:
    """The real candles, found as every other test finds them (tests/market_data.py)."""
    return locate_market_data()


@dataclass(frozen=True, slots=True)
class EngineEntry:
    at: dt.datetime  # the cycle that opened the position
    symbol: str


async def _first_entry(data_dir: Path) -> EngineEntry | None:
    from sqlalchemy import select

    from qari.adapters.persistence.tables.trading import PositionRow
    from qari.backtest.data import load_market_data
    from qari.backtest.wiring import build_backtest
    from qari.config import load_settings

    market = load_market_data(data_dir, PAIRS, SEARCH_FROM, SEARCH_TO)
    with tempfile.TemporaryDirectory(prefix="qari-replay-search-") as tmp:
        settings = load_settings(data_dir=Path(tmp), engine_mode="off")
        run = await build_backtest(
            settings, market=market, balance=Decimal(10000), database_url=f"sqlite+aiosqlite:///{tmp}/bt.db"
        )
        try:
            await run.engine.run(until=market.end)
            async with run.sessions() as session:
                first = (
                    await session.execute(
                        select(PositionRow.opened_at, PositionRow.symbol)
                        .where(PositionRow.user_id == run.user_id)
                        .order_by(PositionRow.opened_at, PositionRow.id)
                        .limit(1)
                    )
                ).first()
        finally:
            await run.engine.stop()
    if first is None:
        return None
    opened_at = first[0] if first[0].tzinfo else first[0].replace(tzinfo=dt.UTC)
    cycle_at = SEARCH_FROM + (opened_at - SEARCH_FROM) // CYCLE * CYCLE
    return EngineEntry(cycle_at, str(first[1]))


def first_engine_entry(data_dir: Path) -> EngineEntry | None:
    """The first position the engine opens over the search stretch (None: it opens none). Runs in
    its own thread: Playwright's sync API may hold an event loop open in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _first_entry(data_dir)).result()
