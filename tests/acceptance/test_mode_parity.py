"""Parity: the engine in sandbox-replay mode (the built-in venue over HTTP through ccxt, stepped
clock) and the backtester (in-process matching engine) make the same decisions on the same candles:
same positions, same orders (ids, prices, quantities, times), same fills. The sandbox journals to
SQLite, the backtester in memory, so this also holds the two journals to the same read-back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from tests.integration.engine.support import MARKET_DATA_DIR as MARKET_DATA
from tests.integration.engine.support import PROTOCOLS, read_journal, sandbox_account, stepped_sandbox_engine
from tests.market_data import needs_market_data

from qari.adapters.simulator.harness import SandboxServer
from qari.backtest.data import load_market_data
from qari.backtest.wiring import build_backtest
from qari.config import load_settings
from qari.core.time import to_ms

PAIRS = ("SUI/USDT", "INJ/USDT")
# A stretch of real 2024 candles with fresh setups on both pairs (entries and fills happen in it).
START = dt.datetime(2024, 8, 8, 15, 30, tzinfo=dt.UTC)
END = dt.datetime(2024, 8, 8, 22, 0, tzinfo=dt.UTC)
BALANCE = Decimal(10000)

pytestmark = needs_market_data


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_backtest_and_sandbox_replay_when_same_candles_then_same_decisions(
    tmp_path: Path, protocol: str
) -> None:
    settings = load_settings(data_dir=tmp_path / "var", engine_mode="off", sandbox_protocol=protocol)
    market = load_market_data(MARKET_DATA, PAIRS, START, END)

    backtest = await build_backtest(settings, market=market, balance=BALANCE)  # journal in memory
    try:
        await backtest.engine.run(until=END)
        from_backtest = await read_journal(backtest.store, backtest.user_id)
    finally:
        await backtest.engine.stop()

    with SandboxServer.start(
        data_dir=MARKET_DATA, symbols=list(market.series), stepped_start_ms=to_ms(START), protocol=protocol
    ) as sandbox:
        account = sandbox_account(sandbox, {"USDT": str(BALANCE)})
        replay = await stepped_sandbox_engine(
            sandbox, tmp_path, accounts={1: account}, start=START, pairs=PAIRS, database="sandbox.db"
        )
        try:
            await replay.engine.run(until=END)
            from_sandbox = await read_journal(replay.store, 1)
        finally:
            await replay.engine.stop()

    assert from_backtest.positions, "the window was chosen to produce entries; none happened"
    assert from_backtest.fills, "the window was chosen to fill an entry; nothing filled"
    assert from_sandbox.positions == from_backtest.positions
    assert from_sandbox.orders == from_backtest.orders
    assert from_sandbox.fills == from_backtest.fills
