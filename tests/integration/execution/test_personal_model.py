"""Premium: a user's own consenting closed trades, blended with the collective active weights, score the
shared candidates for that user only; the personal weights and score ride in the user decision, so its
replay is exact (and a changed weight is reported). A Pro user scores with the collective weights."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import select, update

from qari.adapters.locks import entry_lock_for
from qari.adapters.persistence.decisions import replay
from qari.adapters.persistence.learning import personal_weights_of
from qari.adapters.persistence.tables.accounts import UserSettings
from qari.adapters.persistence.tables.trading import GateEvaluationRow, PositionRow
from qari.analysis.layer import LayerResult, Vote
from qari.analysis.weights import stage1
from qari.engine.execution import ExecutionConfig
from qari.engine.units import ExecutionUnits, StaticClients, StaticProfiles
from qari.ports import ExchangeScan, UserUnit

from .rig import at, rig_for, verdict

FLAT = [(at(0), 101.0), (at(600), 101.0)]
GOOD, BAD = range(1, 5), range(5, 12)  # in this user's history layers 1-4 agreed on winners, 5-11 on losers
LONG_AGO = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def layers(agree: range) -> tuple[LayerResult, ...]:
    return tuple(
        LayerResult(c, f"L{c}", Vote.AGREE if c in agree else Vote.NEUTRAL, 1.0) for c in range(1, 12)
    )


def history(user_id: int, i: int) -> PositionRow:
    win = i % 2 == 0
    opened = LONG_AGO + dt.timedelta(hours=i)
    layer_results = [r.to_dict() for r in layers(GOOD if win else BAD)]
    return PositionRow(
        user_id=user_id, exchange_id="sandbox", symbol="ADA/USDT", base="ADA", state="closed",
        leg2_state="skipped", entry_price=Decimal(100), structural_stop=Decimal(85), stop_price=Decimal(85),
        pt1=Decimal(120), pt2=Decimal(140), leg1_qty=Decimal(1), leg2_qty=Decimal(0),
        planned_r_quote=Decimal(15), fee_rate=Decimal("0.001"), bought_qty=Decimal(1), sold_qty=Decimal(1),
        fee_base=Decimal(0), fees_quote=Decimal("0.2"), cost_quote=Decimal(100), proceeds_quote=Decimal(130),
        realised_pnl_quote=Decimal(30), realised_r=Decimal(2 if win else -1), layer_results=layer_results,
        leg1_expires_at=opened, leg2_expires_at=opened, opened_at=opened,
        closed_at=opened + dt.timedelta(minutes=30), updated_at=opened,
    )  # fmt: skip


async def test_premium_scores_with_its_blended_weights_pro_with_the_collective_and_replay_is_exact(
    sqlite_url: str,
) -> None:
    paths = {s: FLAT for s in ("SOL/USDT", "ETH/USDT", "XRP/USDT")}
    async with rig_for(paths, sqlite_url) as rig:
        async with rig.sessions() as session, session.begin():
            await session.execute(
                update(UserSettings).where(UserSettings.user_id == rig.user_id).values(learning_consent=True)
            )
            session.add_all(history(rig.user_id, i) for i in range(120))
        collective = stage1()
        personal = functools.partial(personal_weights_of, rig.sessions, collective)

        def units(plan: str) -> ExecutionUnits:
            return ExecutionUnits(
                clients=StaticClients({rig.user_id: rig.client}),
                profiles=StaticProfiles(replace(rig.profile, plan=plan, capacity=5)),
                store=rig.store,
                locks=entry_lock_for(rig.engine, rig.sessions, rig.clock),
                clock=rig.clock,
                config=ExecutionConfig(namespace=rig.namespace),
                personal=personal,
            )

        own = await personal(replace(rig.profile, plan="premium"))
        assert (
            own.name == "personal"
            and own.point(1) > collective.point(1)
            and own.point(5) < collective.point(5)
        )

        # Premium: SOL (layers 1-4) passes its own weights; ETH (5-11) passes Stage 1 (0.43), not them
        scan = ExchangeScan("sandbox", rig.clock.now())
        scan.verdicts = {
            "SOL/USDT": verdict("SOL/USDT", 0.57, layers(GOOD), agreeing=4),
            "ETH/USDT": verdict("ETH/USDT", 0.43, layers(BAD), agreeing=4),
        }
        premium = await units("premium").enter(UserUnit(rig.user_id, "sandbox"), scan)
        assert [(g.symbol, g.passed, g.blocking_code) for g in premium.gate] == [
            ("SOL/USDT", True, None),
            ("ETH/USDT", False, "personal"),
        ]
        async with rig.sessions() as session:
            [gate] = (await session.scalars(select(GateEvaluationRow))).all()
            assert gate.inputs is not None and gate.inputs["scoring"]["weights_version"].startswith(
                "personal:"
            )
            assert gate.inputs["scoring"]["score"] > collective.threshold
            report = await replay(session, f"u{gate.id}")
            assert report.identical, report.differences

        # Pro: the collective weights, so ETH reaches the gate (and enters); no personal scoring recorded
        scan.verdicts = {"ETH/USDT": verdict("ETH/USDT", 0.43, layers(BAD), agreeing=4)}
        pro = await units("pro").enter(UserUnit(rig.user_id, "sandbox"), scan)
        assert [(g.symbol, g.passed) for g in pro.gate] == [("ETH/USDT", True)]
        async with rig.sessions() as session:
            gates = (await session.scalars(select(GateEvaluationRow).order_by(GateEvaluationRow.id))).all()
            assert gates[-1].inputs is not None and "scoring" not in gates[-1].inputs

        async with rig.sessions() as session, session.begin():  # a planted change to the personal weights
            inputs = dict(gate.inputs)
            inputs["scoring"] = {**inputs["scoring"], "weights": {**inputs["scoring"]["weights"]}}
            inputs["scoring"]["weights"]["points"] = {**inputs["scoring"]["weights"]["points"], "1": 9.0}
            await session.execute(
                update(GateEvaluationRow).where(GateEvaluationRow.id == gate.id).values(inputs=inputs)
            )
        async with rig.sessions() as session:
            report = await replay(session, f"u{gate.id}")
        assert not report.identical and any("scoring" in d for d in report.differences)
