"""Decision records and `qari replay`: every decision of a sandbox run and of a short backtest is
reproduced exactly from its stored inputs; a planted change to one layer is reported as a difference."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.integration.engine.support import MARKET_DATA_DIR as MARKET_DATA
from tests.integration.engine.support import stepped_sandbox_engine
from tests.market_data import needs_market_data
from typer.testing import CliRunner

from qari.adapters.persistence.decisions import ReplayReport, SqlDecisionRecorder, UnknownDecision, replay
from qari.adapters.persistence.tables.decisions import DecisionCandlesRow, DecisionRow, unpack_json
from qari.adapters.persistence.tables.trading import GateEvaluationRow
from qari.adapters.simulator.harness import SandboxServer
from qari.analysis.layer import LayerResult, Vote
from qari.analysis.layers import LAYERS
from qari.backtest.data import load_market_data
from qari.backtest.runner import journal_trades
from qari.backtest.wiring import build_backtest
from qari.cli import app
from qari.config import load_settings
from qari.core.time import to_ms

pytestmark = needs_market_data

PAIRS = ("SUI/USDT", "INJ/USDT")
START = dt.datetime(2024, 8, 8, 15, 30, tzinfo=dt.UTC)  # an entry at 17:00 (see test_engine_faults)
RUN = dt.timedelta(hours=2, minutes=30)


async def _replay_all(sessions: Any) -> tuple[list[str], list[ReplayReport]]:
    async with sessions() as session:
        ids = [str(i) for i in (await session.execute(select(DecisionRow.id))).scalars()]
        gates = (
            await session.execute(select(GateEvaluationRow.id).where(GateEvaluationRow.inputs.is_not(None)))
        ).scalars()
        ids += [f"u{i}" for i in gates]
        return ids, [await replay(session, i) for i in ids]


@pytest.fixture(scope="module")
def sandbox_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stepped sandbox run with decision records: its database file."""
    import asyncio

    tmp = tmp_path_factory.mktemp("sandbox-decisions")

    async def run() -> None:
        with SandboxServer.start(
            data_dir=MARKET_DATA, symbols=[*PAIRS, "BTC/USDT"], stepped_start_ms=to_ms(START)
        ) as sandbox:
            key, secret = sandbox.create_key(balances={"USDT": "10000"})
            built = await stepped_sandbox_engine(
                sandbox, tmp, accounts={1: (key, secret)}, start=START, pairs=PAIRS, record_decisions=True
            )
            try:
                await built.engine.run(until=START + RUN)
            finally:
                await built.engine.stop()
            assert isinstance(built.recorder, SqlDecisionRecorder)
            sizes = built.recorder.sizes
            print(
                f"sandbox: {sizes.decisions} decisions over {sizes.cycles} cycles, "
                f"{sum(sizes.per_cycle) // max(1, sizes.cycles)} bytes written per cycle "
                f"(candles {sizes.candle_bytes}, before de-duplication {sizes.candle_bytes_undeduplicated})"
            )

    asyncio.run(run())
    return tmp / "engine.db"


async def test_sandbox_run_when_every_decision_replayed_then_no_difference(sandbox_run: Path) -> None:
    from qari.adapters.persistence.db import make_engine, make_sessionmaker

    engine = make_engine(f"sqlite+aiosqlite:///{sandbox_run}")
    try:
        sessions = make_sessionmaker(engine)
        ids, reports = await _replay_all(sessions)
        async with sessions() as session:
            with pytest.raises(UnknownDecision):
                await replay(session, "999999")
            with pytest.raises(UnknownDecision):
                await replay(session, "u1", user_id=2)  # another user's decision is not visible
            count = select(func.count()).select_from(DecisionCandlesRow)
            chunks = (await session.execute(count)).scalar_one()
            inputs = [unpack_json(i) for i in (await session.execute(select(DecisionRow.inputs))).scalars()]
    finally:
        await engine.dispose()

    cycles = RUN // dt.timedelta(minutes=15)
    analyses = [i for i in ids if not i.startswith("u")]
    assert len(analyses) == cycles * len(PAIRS)  # every cycle, every symbol
    assert any(i.startswith("u") for i in ids), "the run gated no candidate"
    assert [d for r in reports for d in r.differences] == []
    assert all(len(r.replays) == 2 for i, r in zip(ids, reports, strict=True) if i.startswith("u"))
    assert any(r.orders for r in reports), "a passed gate names the orders it led to"
    # a candle chunk is stored once however many decisions name it (BTC's by every symbol, a complete
    # chunk by every later cycle)
    named = sum(
        len(keys) for i in inputs for part in (i["series"], i["context"]["btc"]) for keys in part.values()
    )
    assert chunks * 5 < named


def test_replay_cli_when_identical_then_0_and_unknown_then_2(
    sandbox_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{sandbox_run}"
    runner = CliRunner()
    same = runner.invoke(app, ["replay", "1", "--database-url", url])
    assert same.exit_code == 0, same.output
    assert "analysis decision 1: identical" in same.output
    unknown = runner.invoke(app, ["replay", "424242", "--database-url", url])
    assert unknown.exit_code == 2
    assert runner.invoke(app, ["replay", "nonsense", "--database-url", url]).exit_code == 2


def test_replay_when_a_layer_changed_then_the_difference_is_reported(
    sandbox_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    volume = next(layer for layer in LAYERS if layer.code == 4)
    original = volume.evaluate

    def planted(ctx: Any) -> LayerResult:
        r = original(ctx)
        return LayerResult(r.layer, r.name, Vote.NEUTRAL, 0.123, r.evidence, r.explanation, r.veto)

    monkeypatch.setattr(volume, "evaluate", planted)
    result = CliRunner().invoke(app, ["replay", "1", "--database-url", f"sqlite+aiosqlite:///{sandbox_run}"])
    assert result.exit_code == 1, result.output
    assert "layers[3].score:" in result.output and "-> 0.123" in result.output


async def _backtest(tmp: Path, market: Any, *, record: bool) -> tuple[list[str], list[ReplayReport], Any]:
    run = await build_backtest(
        load_settings(engine_mode="off", data_dir=tmp),
        market=market,
        balance=Decimal(10_000),
        database_url=f"sqlite+aiosqlite:///{tmp / f'bt-{record}.db'}",
        record_decisions=record,
    )
    try:
        await run.engine.run(until=market.end)
        ids, reports = await _replay_all(run.sessions) if record else ([], [])
        trades = await journal_trades(run.store, run.user_id, run.venue.price)
    finally:
        await run.engine.stop()
    return ids, reports, trades


async def test_backtest_when_every_decision_replayed_then_no_difference_and_same_trades(
    tmp_path: Path,
) -> None:
    market = load_market_data(
        MARKET_DATA,
        ("SUI/USDT", "INJ/USDT"),
        dt.datetime(2024, 8, 5, tzinfo=dt.UTC),
        dt.datetime(2024, 8, 9, tzinfo=dt.UTC),
    )
    ids, reports, trades = await _backtest(tmp_path, market, record=True)
    _, _, unrecorded = await _backtest(tmp_path, market, record=False)

    assert len(ids) > 10
    assert any(i.startswith("u") for i in ids), "the backtest gated no candidate"
    assert [d for r in reports for d in r.differences] == []
    assert trades[0] or trades[1], "no position in the window"
    assert trades == unrecorded  # recording decides nothing
