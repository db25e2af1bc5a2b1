"""The 16 checks through the real entry path (sandbox over HTTP, ccxt, SQLite journal): each one,
failing alone, blocks the entry with its own code, no order reaches the venue, and the evaluation is
stored with all 16 results."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from qari.adapters.persistence.tables.trading import GateEvaluationRow
from qari.engine.entry import EntryOutcome
from qari.risk.candidate import CandidateLevels
from qari.risk.kill_switch import RealisedR
from qari.trading.position import PositionState

from .rig import Rig, at, candidate, rig_for

FLAT = [(at(0), 101.0), (at(6000), 101.0)]
CLOSES = tuple(100.0 + (i % 3) for i in range(31))


async def _blocked_alone(rig: Rig, code: str, outcome: EntryOutcome, *, alone: bool = True) -> None:
    decision = outcome.decision
    assert decision.blocking is not None, decision.headline
    assert decision.blocking.code == code, decision.headline
    if alone:
        assert [r.code for r in decision.results if not r.passed] == [code], decision.headline
    assert outcome.position is None
    async with rig.sessions() as session:
        row = await session.get(GateEvaluationRow, outcome.gate_evaluation_id)
    assert row is not None and row.blocking_code == code and len(row.results) == 16


async def test_gate_when_each_check_fails_alone_then_entry_blocked_with_its_code(sqlite_url: str) -> None:
    paths = {
        "SOL/USDT": list(FLAT),
        "XRP/USDT": list(FLAT),
        "DOGE/USDT": list(FLAT),
        "ETH/USDT": [(at(0), 101.0), (at(5), 99.5), (at(10), 101.0), (at(6000), 101.0)],
    }
    async with rig_for(paths, sqlite_url) as rig:
        eth = await rig.enter(candidate("ETH/USDT"))  # an open position to duplicate, count and correlate
        assert eth.position is not None and eth.position.id is not None
        rig.step(8)
        await rig.manage()
        assert (await rig.position(eth.position.id)).state is PositionState.OPEN
        venue_before = len(rig.venue_orders(open_only=False))
        base = rig.profile
        sol = candidate("SOL/USDT")
        closes = {
            "SOL/USDT": CLOSES,
            "ETH/USDT": tuple(c * 1.5 + (i % 2) * 0.01 for i, c in enumerate(CLOSES)),
        }
        uncorrelated = {"SOL/USDT": CLOSES, "ETH/USDT": tuple(50.0 + ((i * 7) % 5) for i in range(31))}

        async def enter(
            c: CandidateLevels = sol, daily: dict[str, tuple[float, ...]] | None = None, **change: object
        ) -> EntryOutcome:
            profile = dataclasses.replace(base, **change)  # type: ignore[arg-type]
            return await rig.execution.enter(profile, c, daily_closes=daily or uncorrelated)

        now = rig.clock.now()
        await _blocked_alone(rig, "G01", await enter(auto_trading=False))
        await _blocked_alone(
            rig, "G02", await enter(plan="trial", plan_active_until=now - dt.timedelta(days=1))
        )
        await _blocked_alone(
            rig, "G03", await enter(candidate("ADA/USDT")), alone=False
        )  # not listed: no sizing
        await _blocked_alone(rig, "G04", await enter(personal_blacklist=frozenset({"SOL"})))
        await _blocked_alone(rig, "G05", await enter(candidate("ETH/USDT"), {"ETH/USDT": CLOSES}))
        await _blocked_alone(rig, "G06", await enter(capacity=1))
        await _blocked_alone(rig, "G08", await enter(allocation_value=Decimal(4)))
        await _blocked_alone(rig, "G09", await enter(spread_limit_bps=Decimal("0.5")))
        async with rig.execution.locks.hold(rig.user_id, "SOL/USDT"):
            await _blocked_alone(rig, "G10", await enter())
        await _blocked_alone(rig, "G12", await enter(daily=closes))
        await _blocked_alone(rig, "G13", await enter(candidate("SOL/USDT", pt2="120")))
        await _blocked_alone(rig, "G15", await enter(candidate("SOL/USDT", stop="95")))
        await _blocked_alone(rig, "G16", await enter(key_status="invalid"))

        rig.server.set_balances(rig.key, {"USDT": "250"})  # ETH still reserves ~100 USDT for its Leg 2
        await _blocked_alone(rig, "G07", await enter())
        rig.server.set_balances(rig.key, {"USDT": "1000"})

        stopped = await rig.store.add_position(
            dataclasses.replace(
                eth.position,
                id=None,
                symbol="XRP/USDT",
                state=PositionState.CLOSED,
                exit_reason="stop_loss",
                closed_at=now - dt.timedelta(hours=1),
            )
        )
        await rig.store.save_position(stopped)
        await _blocked_alone(rig, "G11", await enter(candidate("XRP/USDT"), {"XRP/USDT": CLOSES}))

        loser = await rig.store.add_position(
            dataclasses.replace(
                eth.position,
                id=None,
                symbol="DOGE/USDT",
                state=PositionState.CLOSED,
                exit_reason="trailing_stop",
                closed_at=now,
                realised_r=Decimal(-2),
            )
        )
        await rig.store.save_position(loser, realised=RealisedR(now, Decimal(-2)))
        await _blocked_alone(rig, "G14", await enter())

        assert len(rig.venue_orders(open_only=False)) == venue_before  # nothing blocked reached the venue
        async with rig.sessions() as session:
            codes = (await session.scalars(select(GateEvaluationRow.blocking_code))).all()
        assert {f"G{i:02d}" for i in range(1, 17)} <= set(codes)
