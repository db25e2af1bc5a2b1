"""The backtester's analysis ahead of the clock on worker processes decides exactly what in-line
analysis decides; and `screen` (cheap layers first, stopping once no candidate is possible) finds
exactly `analyse`'s candidates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from tests.integration.engine.support import MARKET_DATA_DIR as MARKET_DATA
from tests.integration.engine.support import Journal, read_journal
from tests.market_data import needs_market_data

from qari.analysis.context import AnalysisContext
from qari.analysis.engine import Vote, analyse, screen
from qari.analysis.layers import liquidity
from qari.backtest.data import load_market_data
from qari.backtest.wiring import build_backtest
from qari.config import load_settings
from qari.core.time import to_ms
from qari.market.snapshots import build_snapshots

PAIRS = ("SUI/USDT", "INJ/USDT")
START = dt.datetime(2024, 8, 8, 15, 30, tzinfo=dt.UTC)  # the parity test's window: entries and fills
END = dt.datetime(2024, 8, 8, 22, 0, tzinfo=dt.UTC)

pytestmark = needs_market_data


async def _journal(tmp_path: Path, workers: int) -> Journal:
    settings = load_settings(data_dir=tmp_path / "var", engine_mode="off")
    market = load_market_data(MARKET_DATA, PAIRS, START, END)
    run = await build_backtest(settings, market=market, balance=Decimal(10000), analysis_workers=workers)
    try:
        await run.engine.run(until=END)
        return await read_journal(run.store, run.user_id)
    finally:
        await run.engine.stop()


async def test_backtest_when_analysed_on_workers_then_same_journal_as_inline(tmp_path: Path) -> None:
    inline = await _journal(tmp_path, 1)
    ahead = await _journal(tmp_path, 2)
    assert inline.positions and inline.fills, "the window was chosen to produce filled entries"
    assert ahead == inline


def test_screen_when_real_candles_then_same_candidates_as_full_analysis() -> None:
    day = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)  # a strong market: candidates on several pairs
    market = load_market_data(MARKET_DATA, None, day, day + dt.timedelta(days=1))
    at = market.start
    screened = candidates = 0
    while at < market.end:
        for snap in build_snapshots(market.series, to_ms(at)).values():
            full, quick = analyse(snap), screen(snap)
            sfp_agrees = full.layers[liquidity.CODE - 1].vote == Vote.AGREE
            assert liquidity.could_agree(AnalysisContext(snap)) or not sfp_agrees
            assert quick.candidate == full.candidate, (snap.symbol, at)
            if quick.screened:
                screened += 1
                ran = {r.layer: r for r in quick.layers}
                assert ran == {r.layer: r for r in full.layers if r.layer in ran}
            else:
                assert quick == full
            candidates += full.candidate is not None
        at += dt.timedelta(hours=1)
    assert candidates > 0 and screened > 0, (candidates, screened)
