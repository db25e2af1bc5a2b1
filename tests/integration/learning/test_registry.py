"""The model registry: a Stage 2 version activated by the operator is what the engine analyses with
and what every decision record names, so replay stays exact; rollback returns to the version before."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.market_data import MARKET_DATA, needs_market_data

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker, transaction
from qari.adapters.persistence.decisions import SqlDecisionRecorder, replay
from qari.adapters.persistence.learning import RegistryError, activate, active_weights, register, rollback
from qari.adapters.persistence.tables.decisions import DecisionRow
from qari.analysis.engine import analyse
from qari.analysis.weights import stage1
from qari.config import load_settings
from qari.core.time import from_ms
from qari.market.candle_files import discover, load_candle_file
from qari.market.snapshots import build_snapshots
from qari.ports import ExchangeScan

pytestmark = needs_market_data
NOW = dt.datetime(2024, 9, 7, tzinfo=dt.UTC)
AT_MS = 1_717_200_000_000  # 2024-06-01 00:00 UTC


async def test_activated_version_is_analysed_with_recorded_and_replayed_then_rolled_back(
    database_url: str,
) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    tuned = dataclasses.replace(stage1(), name="stage2", points=(2.0, 2.5, 2.0, 1.5, *stage1().points[4:]))
    other = dataclasses.replace(tuned, points=(1.0, *tuned.points[1:]))
    window = {"data_from": NOW - dt.timedelta(days=90), "data_to": NOW, "samples": 3132, "now": NOW}
    try:
        async with transaction(sessions) as session:
            first = await register(session, stage=2, source="backtest", weights=other, metrics={}, **window)
            row = await register(
                session, stage=2, source="backtest", weights=tuned, metrics={"avg_r": -0.29}, **window
            )
            seed3 = await register(session, stage=3, source="backtest", metrics={}, **window)
            await activate(session, first.version, actor=1, now=NOW)
            await activate(session, row.version, actor=1, now=NOW + dt.timedelta(minutes=1))
            with pytest.raises(RegistryError):
                await activate(session, seed3.version, actor=1, now=NOW)
        async with sessions() as session:
            weights = await active_weights(session)
        assert weights == tuned

        files = discover(MARKET_DATA)
        series = {
            p: {tf: load_candle_file(files[(p, tf)]) for tf in ("1h", "4h", "1d")} for p in ("SOL/USDT",)
        }
        snaps = build_snapshots(series, AT_MS, symbols=["SOL/USDT"])
        verdict = analyse(snaps["SOL/USDT"], weights)
        recorder = SqlDecisionRecorder(sessions, retention=None, weights=weights)
        scan = ExchangeScan("binance", from_ms(AT_MS), {"SOL/USDT": verdict}, snaps)
        [decision] = await recorder.store("binance", "live", from_ms(AT_MS), recorder._records(scan))
        async with sessions() as session:
            stored = await session.scalar(select(DecisionRow).where(DecisionRow.id == decision))
            assert stored is not None and stored.weights_version == row.version
            report = await replay(session, str(decision))
        assert report.identical, report.differences

        async with transaction(sessions) as session:
            back = await rollback(session, actor=1, now=NOW + dt.timedelta(hours=1))
            assert back is not None and back.version == first.version
            assert await active_weights(session) == other
            assert await rollback(session, actor=1, now=NOW + dt.timedelta(hours=2)) is None
            assert await active_weights(session) == stage1()
    finally:
        await engine.dispose()


async def test_the_engine_analyses_and_records_with_the_registry_active_version(tmp_path: Path) -> None:
    from qari.web.app import create_app

    settings = load_settings(
        data_dir=tmp_path / "var", master_key_file=tmp_path / "keys" / "master.key", engine_mode="sandbox"
    )
    url = settings.resolved_database_url
    await asyncio.to_thread(migrate.upgrade, url)
    tuned = dataclasses.replace(stage1(), name="stage2", points=(1.5, *stage1().points[1:]))
    engine = make_engine(url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            row = await register(
                session, stage=2, source="backtest", weights=tuned, metrics={}, samples=1, now=NOW,
                data_from=NOW, data_to=NOW,
            )  # fmt: skip
            await activate(session, row.version, actor=1, now=NOW)
    finally:
        await engine.dispose()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        running = app.state.engine_status.__self__.engine
        assert running is not None
        assert running.cycle.analyse.__self__.weights == tuned  # ActiveScoring.analyse
        assert running.cycle.recorder.weights == tuned  # decision records name this version
