"""Decision records are bounded: older than the retention they are dropped with the candle chunks no
kept decision names, and what is kept still replays."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tests.market_data import MARKET_DATA, needs_market_data

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.decisions import SqlDecisionRecorder, UnknownDecision, replay
from qari.adapters.persistence.repositories.trading import SqlTradingStore
from qari.adapters.persistence.tables.decisions import DecisionCandlesRow
from qari.analysis.engine import analyse_many
from qari.core.time import from_ms
from qari.decisions import candle_refs, gate_inputs, gate_results_json, record_analysis
from qari.market.candle_files import discover, load_candle_file
from qari.market.snapshots import build_snapshots
from qari.risk.context import GateContext
from qari.risk.gate import evaluate_gate
from qari.trading.records import GateRecord

pytestmark = needs_market_data

PAIRS = ("BTC/USDT", "SOL/USDT")
T0_MS = 1_717_200_000_000  # 2024-06-01 00:00 UTC


async def test_retention_when_decisions_expire_then_they_and_their_candles_are_dropped(
    database_url: str,
) -> None:
    files = discover(MARKET_DATA)
    series = {p: {tf: load_candle_file(files[(p, tf)]) for tf in ("1h", "4h", "1d")} for p in PAIRS}
    url = database_url
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    recorder = SqlDecisionRecorder(sessions, retention=dt.timedelta(days=1))
    ids: list[list[int]] = []
    kept_refs: set[str] = set()
    try:
        for at_ms in (T0_MS, T0_MS + 3_600_000, T0_MS + 3 * 86_400_000):
            snaps = build_snapshots(series, at_ms, symbols=list(PAIRS))
            verdicts = analyse_many(snaps)
            records = [record_analysis(snaps[s], verdicts[s]) for s in snaps]
            ids.append(await recorder.store("binance", "live", from_ms(at_ms), records))
            kept_refs = set().union(*(candle_refs(r.inputs) for r in records))
        async with sessions() as session:
            for gone in ids[0] + ids[1]:
                with pytest.raises(UnknownDecision):
                    await replay(session, str(gone))
            kept = [await replay(session, str(i)) for i in ids[2]]
            stored = set((await session.execute(select(DecisionCandlesRow.hash))).scalars())
            count = (await session.execute(select(func.count()).select_from(DecisionCandlesRow))).scalar_one()
    finally:
        await engine.dispose()

    assert all(r.identical for r in kept)
    assert stored == kept_refs and count == len(kept_refs)  # nothing older is left behind
    assert recorder.sizes.per_cycle[1] < recorder.sizes.per_cycle[0] / 2  # the hour after: mostly shared


async def test_user_decision_when_stored_on_either_backend_then_replays_identically(
    database_url: str,
) -> None:
    ctx = GateContext(
        now=dt.datetime(2024, 8, 8, 17, tzinfo=dt.UTC),
        user_id=5,
        symbol="SOL/USDT",
        entry_price=Decimal("150.5"),
        stop_price=Decimal("130"),
        pt2_price=Decimal("210"),
        free_quote=Decimal("1000"),
        candidate_daily_closes=(float("nan"), 140.0, 150.25),  # strict JSON on PostgreSQL all the same
    )
    decision = evaluate_gate(ctx)
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = make_engine(database_url)
    try:
        sessions = make_sessionmaker(engine)
        gate_id = await SqlTradingStore(sessions).record_gate(
            GateRecord(
                5,
                "sandbox",
                "SOL/USDT",
                decision.passed,
                None,
                decision.headline,
                gate_results_json(decision),
                {},
                ctx.now,
                inputs=gate_inputs(ctx),
            )
        )
        async with sessions() as session:
            report = await replay(session, f"u{gate_id}", user_id=5)
    finally:
        await engine.dispose()
    assert report.identical and [r.kind for r in report.replays] == ["gate"]
