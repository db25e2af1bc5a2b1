"""Leg 2 without a 15m CHoCH: the reservation is released at expiry, a late CHoCH sends nothing, and
the position stays protected (in-process simulator, real SQLite journal)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.locks.row_lock import RowEntryLock
from qari.adapters.persistence.repositories.trading import SqlTradingStore
from qari.adapters.simulator.client import SimulatedExchangeClient
from qari.adapters.simulator.exchange import SimulatedExchange
from qari.core.clocks import ManualClock
from qari.core.time import to_ms
from qari.engine.execution import ExecutionConfig, StructureSignals, UserExecution
from qari.risk.profile import TradingProfile
from qari.risk.sizing import AllocationMode
from qari.trading.order import OrderRole
from qari.trading.position import Leg2State, PositionState

from .rig import T0, at, candidate
from .scripted_prices import ScriptedPrices
from .support import register_user


async def test_leg2_when_no_choch_before_expiry_then_released_and_stop_still_rests(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    prices = ScriptedPrices(
        {"SOL/USDT": [(at(0), 101.0), (at(10), 99.5), (at(20), 103.0), (at(3000), 103.0)]}
    )
    exchange = SimulatedExchange(prices, start_ms=to_ms(T0))
    account = uuid.uuid4().hex[:8]
    exchange.open_account(account, {"USDT": Decimal(1000)})
    clock = ManualClock(T0)
    store = SqlTradingStore(sessions)
    choch = {"seen": False}
    execution = UserExecution(
        SimulatedExchangeClient(exchange, account),
        store,
        RowEntryLock(sessions, clock),
        clock,
        ExecutionConfig(namespace="x"),
        signals=StructureSignals(
            bullish_choch_15m=lambda _s: choch["seen"], latest_higher_low=lambda _s: None
        ),
    )
    user_id = await register_user(sessions)
    profile = TradingProfile(
        user_id=user_id,
        exchange_id="sandbox",
        plan="pro",
        capacity=10,
        allocation_mode=AllocationMode.FIXED,
        allocation_value=Decimal(200),
        permissions_verified_at=T0,
    )
    outcome = await execution.enter(profile, candidate())
    assert outcome.position is not None and outcome.position.id is not None
    pid = outcome.position.id

    for hours in (1, 12, 23):
        clock.set(T0 + dt.timedelta(hours=hours))
        exchange.advance_to(to_ms(clock.now()))
        await execution.manage(profile)
        position = await store.get_position(pid)
        assert position is not None and position.state is PositionState.OPEN
        assert position.leg2_state is Leg2State.RESERVED

    clock.set(T0 + dt.timedelta(hours=24, minutes=5))
    exchange.advance_to(to_ms(clock.now()))
    choch["seen"] = True  # too late: the reservation has expired
    await execution.manage(profile)
    position = await store.get_position(pid)
    assert position is not None and position.leg2_state is Leg2State.RELEASED
    orders = await store.orders_for(pid)
    assert not [o for o in orders if o.role is OrderRole.LEG2]
    stops = [o for o in exchange.orders(account, "SOL/USDT", active=True) if o.trigger_price is not None]
    assert len(stops) == 1 and stops[0].trigger_price == Decimal(85)
