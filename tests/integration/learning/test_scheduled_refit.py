"""Stage 2 re-fitted on a schedule from the engine's hourly checks, on a clock the test moves: nothing
below 500 consenting closed trades; at 500 a version is registered and activated only because it beat
the active version (Stage 1) on a held-out later window; at most once a day; the operator is alerted.
When the later window disagrees with what the earlier one taught, the version is registered, not active."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker, transaction
from qari.adapters.persistence.learning import active_weights, versions
from qari.adapters.persistence.tables.accounts import AuditEntry, User, UserSettings
from qari.adapters.persistence.tables.alerts import AlertOutbox
from qari.adapters.persistence.tables.trading import PositionRow
from qari.analysis.weights import stage1
from qari.services.accounts import register
from qari.services.audit_log import sentence
from qari.services.engine_ports import HourlyChecks

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
GOOD = range(1, 5)  # layers 1-4 agree on the winners (+2 R) ...
BAD = range(5, 12)  # ... layers 5-11 on the losers (-1 R); Stage 1 passes both kinds (score >= 0.4)


class NoKeys:
    """The hourly tick's key re-check, with no connected keys (not what this test is about)."""

    async def reverify_due(self, at: dt.datetime) -> int:
        return 0


def trade(user_id: int, i: int, win: bool) -> PositionRow:
    at = T0 + dt.timedelta(hours=i)
    agree = GOOD if win else BAD
    layers = [
        {"layer": c, "name": f"L{c}", "vote": "agree" if c in agree else "neutral", "score": 1.0}
        for c in range(1, 12)
    ]
    return PositionRow(
        user_id=user_id, exchange_id="binance", symbol="SOL/USDT", base="SOL", state="closed",
        leg2_state="skipped", entry_price=Decimal(100), structural_stop=Decimal(85), stop_price=Decimal(85),
        pt1=Decimal(120), pt2=Decimal(140), leg1_qty=Decimal(1), leg2_qty=Decimal(0),
        planned_r_quote=Decimal(15), fee_rate=Decimal("0.001"), bought_qty=Decimal(1), sold_qty=Decimal(1),
        fee_base=Decimal(0), fees_quote=Decimal("0.2"), cost_quote=Decimal(100), proceeds_quote=Decimal(130),
        realised_pnl_quote=Decimal(30), realised_r=Decimal(2 if win else -1), layer_results=layers,
        leg1_expires_at=at, leg2_expires_at=at, opened_at=at, closed_at=at + dt.timedelta(minutes=30),
        updated_at=at,
    )  # fmt: skip


async def _users(sessions: object) -> dict[str, int]:
    async with transaction(sessions) as session:  # type: ignore[arg-type]
        for email in ("op@example.com", "yes@example.com", "no@example.com"):
            await register(session, email=email, password="Correct-Horse-Battery-9", now=T0)
        ids = {u.email: u.id for u in (await session.scalars(select(User))).all()}
        (await session.get(UserSettings, ids["yes@example.com"])).learning_consent = True  # type: ignore[union-attr]
    return ids


async def test_refit_when_due_registers_and_activates_only_what_beats_the_active_version(
    database_url: str,
) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    checks = HourlyChecks(NoKeys(), sessions)
    try:
        ids = await _users(sessions)
        async with transaction(sessions) as session:
            session.add_all(trade(ids["yes@example.com"], i, i % 2 == 0) for i in range(499))
            session.add_all(trade(ids["no@example.com"], i, True) for i in range(300))  # never consented
        first = T0 + dt.timedelta(days=30)
        await checks.reverify_due(first)
        async with sessions() as session:
            assert await versions(session) == []  # 499 consenting trades: not yet

        async with transaction(sessions) as session:
            session.add(trade(ids["yes@example.com"], 499, False))
        await checks.reverify_due(first + dt.timedelta(hours=1))
        async with sessions() as session:
            [row] = await versions(session)
            assert (row.stage, row.source, row.samples, row.active, row.activated_by) == (
                2,
                "live",
                350,
                True,
                None,
            )
            assert row.metrics["avg_r"] == 2.0 and row.metrics["stage1"]["avg_r"] == 0.5
            assert (await active_weights(session)).point(1) > stage1().point(1)
            alerts = (
                await session.scalars(select(AlertOutbox).where(AlertOutbox.kind == "model_trained"))
            ).all()
            assert [(a.user_id, "activated" in a.data["detail"]) for a in alerts] == [
                (ids["op@example.com"], True)
            ]
            audit = (
                await session.scalars(select(AuditEntry).where(AuditEntry.action == "learning.refitted"))
            ).all()
            assert [(a.actor_user_id, a.detail["activated"]) for a in audit] == [(None, True)]
            said = sentence(audit[0].action, audit[0].detail, str)
            assert said.endswith("activated: it beat the active version")

        async with transaction(sessions) as session:  # the later window now contradicts the earlier one
            session.add_all(trade(ids["yes@example.com"], i, i % 2 == 1) for i in range(500, 1000))
        await checks.reverify_due(first + dt.timedelta(hours=23))
        async with sessions() as session:
            assert len(await versions(session)) == 1  # once a day
        await checks.reverify_due(first + dt.timedelta(days=1, hours=1))
        async with sessions() as session:
            rows = await versions(session)
            assert [(r.source, r.active) for r in rows] == [("live", True), ("live", False)]
            alerts = (
                await session.scalars(select(AlertOutbox).where(AlertOutbox.kind == "model_trained"))
            ).all()
            assert "not activated" in alerts[-1].data["detail"]
    finally:
        await engine.dispose()
