"""A user's unit of work enters several candidates: each gate sees the positions the unit opened
before it, without reading them back from the journal, and each venue answer rides on the unit's next
commit."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.locks import entry_lock_for
from qari.adapters.persistence.repositories.trading import SqlTradingStore
from qari.engine.execution import ExecutionConfig
from qari.engine.units import ExecutionUnits, StaticClients, StaticProfiles
from qari.ports import ExchangeScan, GateOutcome, UserUnit
from qari.trading.order import OrderState
from qari.trading.position import PositionState
from qari.trading.records import OrderRecord, PositionRecord

from .rig import at, journal, rig_for, verdict

FLAT = [(at(0), 101.0), (at(600), 101.0)]


class CountingStore(SqlTradingStore):
    """The SQL journal, counting the reads a unit makes."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions)
        self.counted: Counter[str] = Counter()

    async def open_positions(self, user_id: int, exchange_id: str | None = None) -> list[PositionRecord]:
        self.counted["open_positions"] += 1
        return await super().open_positions(user_id, exchange_id)

    async def orders_for(self, position_id: int) -> list[OrderRecord]:
        self.counted["orders_for"] += 1
        return await super().orders_for(position_id)


async def test_unit_when_candidates_enter_in_turn_then_each_gate_sees_the_units_new_positions(
    sqlite_url: str,
) -> None:
    async with rig_for({"SOL/USDT": FLAT, "ETH/USDT": FLAT, "XRP/USDT": FLAT}, sqlite_url) as rig:
        store = CountingStore(rig.sessions)
        units = ExecutionUnits(
            clients=StaticClients({rig.user_id: rig.client}),
            profiles=StaticProfiles(replace(rig.profile, capacity=2)),
            store=store,
            locks=entry_lock_for(rig.engine, rig.sessions, rig.clock),
            clock=rig.clock,
            config=ExecutionConfig(namespace=rig.namespace),
        )
        scan = ExchangeScan("sandbox", rig.clock.now())
        scan.verdicts = {
            s: verdict(s, score) for s, score in (("SOL/USDT", 0.9), ("ETH/USDT", 0.8), ("XRP/USDT", 0.7))
        }

        commits: list[int] = []
        event.listen(rig.engine.sync_engine, "commit", lambda _c: commits.append(1))

        outcome = await units.enter(UserUnit(rig.user_id, "sandbox"), scan)

        # Two entries fill the plan's capacity of 2: the third gate counts both, so it blocks
        assert outcome.orders_sent == 2
        assert [(g.symbol, g.passed) for g in outcome.gate] == [
            ("SOL/USDT", True),
            ("ETH/USDT", True),
            ("XRP/USDT", False),
        ]
        assert outcome.gate[2] == GateOutcome("XRP/USDT", False, "G06", outcome.gate[2].reason)
        opened = await rig.store.open_positions(rig.user_id)
        assert [(p.symbol, p.state) for p in opened] == [
            ("SOL/USDT", PositionState.PENDING),
            ("ETH/USDT", PositionState.PENDING),
        ]
        # The journal's open positions were read once for the unit; the orders just placed not at all
        assert store.counted == Counter({"open_positions": 1})
        # Commits: entry locks taken; entry 1; entry 2 with entry 1's answer; at the end entry 2's answer
        # with the blocked gate; locks released (an answer and a blocked gate alone: 7)
        assert len(commits) == 5
        for position in opened:
            assert position.id is not None
            (leg1,) = await rig.orders(position.id)
            assert leg1.state is OrderState.OPEN and leg1.exchange_order_id
            assert [line.split(":")[0] for line in await journal(rig, position.id)][:2] == [
                "gate_passed",
                "leg1_placed",
            ]
