"""Settings → Data sharing governs training: only consenting users' closed trades reach a training set,
anonymised (R and layer features only), and withdrawing consent removes them from the next run."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import httpx
from sqlalchemy import select
from tests.helpers import register_and_login

from qari.adapters.persistence.db import make_engine, make_sessionmaker, transaction
from qari.adapters.persistence.learning import consenting_samples
from qari.adapters.persistence.tables.accounts import User
from qari.adapters.persistence.tables.trading import PositionRow
from qari.config import Settings
from qari.learning.stages import Sample

SHARING = "/api/v1/settings/data-sharing"
T0 = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
LAYERS = [
    {"layer": c, "name": f"L{c}", "vote": "agree" if c < 5 else "neutral", "score": 0.7} for c in range(1, 12)
]


def closed(user_id: int, r: str, day: int) -> PositionRow:
    at = T0 + dt.timedelta(days=day)
    return PositionRow(
        user_id=user_id, exchange_id="binance", symbol="SOL/USDT", base="SOL", state="closed",
        leg2_state="skipped", entry_price=Decimal(100), structural_stop=Decimal(85), stop_price=Decimal(85),
        pt1=Decimal(120), pt2=Decimal(140), leg1_qty=Decimal(1), leg2_qty=Decimal(0),
        planned_r_quote=Decimal(15), fee_rate=Decimal("0.001"), bought_qty=Decimal(1), sold_qty=Decimal(1),
        fee_base=Decimal(0), fees_quote=Decimal("0.2"), cost_quote=Decimal(100), proceeds_quote=Decimal(130),
        realised_pnl_quote=Decimal(30), realised_r=Decimal(r), layer_results=LAYERS,
        leg1_expires_at=at, leg2_expires_at=at, opened_at=at, closed_at=at + dt.timedelta(hours=5),
        updated_at=at,
    )  # fmt: skip


async def test_only_consenting_users_reach_the_training_set_and_withdrawal_removes_them(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operator = await register_and_login(client, "op@example.com")
    yes = await register_and_login(client, "yes@example.com")
    await register_and_login(client, "no@example.com")  # never consents: the default is off
    assert (await client.put(SHARING, json={"learning_consent": True}, headers=yes)).status_code == 200
    assert (await client.get(SHARING, headers=operator)).json() == {"learning_consent": False}
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    try:
        async with transaction(sessions) as session:
            ids = {u.email: u.id for u in (await session.scalars(select(User))).all()}
            session.add_all(
                [closed(ids["yes@example.com"], "1.5", 0), closed(ids["yes@example.com"], "-1", 1)]
                + [closed(ids["no@example.com"], "2.25", d) for d in range(3)]
                + [closed(ids["op@example.com"], "0.75", 4)]
            )
        async with sessions() as session:
            samples = await consenting_samples(session)
        assert sorted(s.r for s in samples) == [-1.0, 1.5]  # the consenting user's trades only
        assert {f.name for f in dataclasses.fields(Sample)} == {
            "symbol", "decided_ms", "outcome_ms", "layers", "r", "stop_distance", "reward_risk", "source"
        }  # fmt: skip
        for s in samples:
            assert s.symbol == "" and s.source == "live"
            assert "yes@example.com" not in repr(s) and "130" not in repr(s)  # no e-mail, no USDT amount
            assert [x.layer for x in s.layers] == list(range(1, 12))

        assert (await client.put(SHARING, json={"learning_consent": False}, headers=yes)).status_code == 200
        async with sessions() as session:
            assert await consenting_samples(session) == []  # past contributions gone from the next run
    finally:
        await engine.dispose()
