"""An activated Stage 3 model drives the engine's scoring (`learning.stages.analyse_scored`, the same
`Stage3Model.scale` `learn evaluate` uses), its version is in every decision record, and `qari replay`
reproduces the score bit-for-bit from the registry; a planted change to the stored model is reported."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import random

from sqlalchemy import select
from tests.market_data import MARKET_DATA, needs_market_data

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker, transaction
from qari.adapters.persistence.decisions import SqlDecisionRecorder, refresh_scoring, replay
from qari.adapters.persistence.learning import (
    ActiveScoring,
    activate,
    active_model,
    active_weights,
    register,
    rollback,
)
from qari.adapters.persistence.tables.decisions import DecisionRow
from qari.adapters.persistence.tables.learning import ModelVersionRow
from qari.analysis.engine import analyse
from qari.analysis.layer import LayerResult, Vote
from qari.core.clocks import ManualClock
from qari.core.market import MarketSnapshot
from qari.core.time import from_ms
from qari.engine.cycle import EngineCycle
from qari.learning.stages import Sample, analyse_scored, train_stage3
from qari.market.candle_files import discover, load_candle_file
from qari.market.snapshots import build_snapshots
from qari.ports import ExchangeScan, UserOutcome, UserUnit

pytestmark = needs_market_data
NOW = dt.datetime(2024, 9, 7, tzinfo=dt.UTC)
AT_MS = 1_717_419_600_000  # 2024-06-03 13:00 UTC: SOL/USDT has a candidate
HOUR = 3_600_000


def _samples(n: int) -> list[Sample]:
    """Layer 4 agreeing wins +2 R, otherwise -1 R (a model that discriminates, trained in < 1 s)."""
    rng = random.Random(3)
    out = []
    for i in range(n):
        agree = {c for c in range(1, 12) if rng.random() < 0.5}
        layers = tuple(
            LayerResult(c, f"L{c}", Vote.AGREE if c in agree else Vote.NEUTRAL, rng.random())
            for c in range(1, 12)
        )
        r = 2.0 if 4 in agree else -1.0
        out.append(Sample("X/USDT", i * HOUR, i * HOUR + HOUR, layers, r, 0.15, 2.5))
    return out


async def test_decision_scored_by_an_active_stage3_model_replays_exactly(database_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    model = train_stage3(_samples(400))
    assert model is not None
    window = {"data_from": NOW - dt.timedelta(days=90), "data_to": NOW, "samples": 400, "now": NOW}
    try:
        async with transaction(sessions) as session:
            row = await register(session, stage=3, source="backtest", metrics={}, model=model, **window)
            await activate(session, row.version, actor=1, now=NOW)
        async with sessions() as session:
            weights = await active_weights(session)
            active = await active_model(session)
        assert active is not None and active[0] == row.version
        version, loaded = active

        files = discover(MARKET_DATA)
        series = {"SOL/USDT": {tf: load_candle_file(files[("SOL/USDT", tf)]) for tf in ("1h", "4h", "1d")}}
        snaps = build_snapshots(series, AT_MS, symbols=["SOL/USDT"])
        plain = analyse(snaps["SOL/USDT"], weights)
        verdict = analyse_scored(snaps["SOL/USDT"], weights=weights, model=loaded)
        assert plain.candidate is not None
        assert verdict.score != plain.score  # the model scaled it
        recorder = SqlDecisionRecorder(sessions, retention=None, weights=weights, model=version)
        scan = ExchangeScan("binance", from_ms(AT_MS), {"SOL/USDT": verdict}, snaps)
        [decision] = await recorder.store("binance", "live", from_ms(AT_MS), recorder._records(scan))
        async with sessions() as session:
            report = await replay(session, str(decision))
        assert report.identical, report.differences

        # a planted change to the stored model: the base rate it divides by
        async with transaction(sessions) as session:
            stored = await session.scalar(select(ModelVersionRow).where(ModelVersionRow.version == version))
            assert stored is not None and stored.model is not None
            stored.model = {**stored.model, "base_rate": stored.model["base_rate"] * 0.9}
        async with sessions() as session:
            changed = await replay(session, str(decision))
            assert await session.scalar(select(DecisionRow.id).where(DecisionRow.id == decision)) == decision
        assert not changed.identical
        assert any("score" in d for d in changed.differences), changed.differences
    finally:
        await engine.dispose()


class _Feed:
    exchange_id = "binance"

    def __init__(self, snaps: dict[str, MarketSnapshot]) -> None:
        self.snaps = snaps

    async def refresh(self, at: dt.datetime) -> dict[str, MarketSnapshot]:
        return self.snaps


class _Directory:
    async def units(self, exchange_id: str) -> list[UserUnit]:
        return [UserUnit(1, exchange_id)]


class _Executor:
    async def enter(self, unit: UserUnit, scan: ExchangeScan) -> UserOutcome:
        return UserOutcome()

    async def manage(self, unit: UserUnit, at: dt.datetime) -> None:
        return None


async def test_engine_picks_up_an_activation_and_a_rollback_at_its_next_cycle(database_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    model = train_stage3(_samples(400))
    assert model is not None
    window = {"data_from": NOW - dt.timedelta(days=90), "data_to": NOW, "samples": 400, "now": NOW}
    files = discover(MARKET_DATA)
    series = {"SOL/USDT": {tf: load_candle_file(files[("SOL/USDT", tf)]) for tf in ("1h", "4h", "1d")}}
    snaps = build_snapshots(series, AT_MS, symbols=["SOL/USDT"])
    clock = ManualClock(from_ms(AT_MS))
    try:
        scoring = ActiveScoring(sessions)
        await scoring.refresh()
        recorder = SqlDecisionRecorder(sessions, retention=None, weights=scoring.weights)
        cycle = EngineCycle(
            mode="sandbox", clock=clock, feeds=[_Feed(snaps)], analyse=scoring.analyse,
            directory=_Directory(), executor=_Executor(), recorder=recorder,
            refresh=functools.partial(refresh_scoring, scoring, recorder),
        )  # fmt: skip

        def score() -> float:
            assert cycle.last_report is not None
            return float(cycle.last_report.scans[0].verdicts["SOL/USDT"].score)

        await cycle.run_cycle(clock.now())
        plain = score()
        async with transaction(sessions) as session:
            row = await register(session, stage=3, source="backtest", metrics={}, model=model, **window)
            await activate(session, row.version, actor=1, now=NOW)
        clock.advance(dt.timedelta(minutes=5))
        await cycle.run_cycle(clock.now())  # the next cycle, no restart
        scaled = score()
        assert scaled != plain and recorder.model == row.version
        assert scaled == analyse_scored(snaps["SOL/USDT"], weights=scoring.weights, model=model).score
        assert await scoring.refresh() is False  # unchanged: only the id is read, nothing reloaded

        async with transaction(sessions) as session:
            await rollback(session, actor=1, now=NOW + dt.timedelta(hours=1))
        clock.advance(dt.timedelta(minutes=5))
        await cycle.run_cycle(clock.now())
        assert score() == plain and recorder.model is None
    finally:
        await engine.dispose()
