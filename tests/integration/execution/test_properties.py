"""Property test over random price paths and fill patterns (in-process simulator, real SQLite journal):

- no state leaves a filled quantity without exactly one active stop on the venue for all of it;
- a trade's realised loss stays within 1R plus fees plus the slippage of its stop fill;
- no exit ever fails for insufficient balance (no sell is rejected, on our side or the venue's).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from qari.adapters.locks.row_lock import RowEntryLock
from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.repositories.trading import SqlTradingStore
from qari.adapters.simulator.client import SimulatedExchangeClient
from qari.adapters.simulator.exchange import SimulatedExchange
from qari.core.clocks import ManualClock
from qari.core.orders import Side
from qari.core.time import to_ms
from qari.engine.execution import ExecutionConfig, StructureSignals, UserExecution
from qari.risk.profile import TradingProfile
from qari.risk.sizing import AllocationMode
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import PositionState

from .rig import T0, candidate
from .scripted_prices import ScriptedPrices
from .support import register_user

STEP = dt.timedelta(minutes=30)
FILLED = (PositionState.OPEN, PositionState.PT1_TAKEN, PositionState.PT2_TAKEN)


@pytest.fixture(scope="module")
def journal_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('props')) / 'props.db'}"
    migrate.upgrade(url)
    return url


moves = st.lists(st.floats(min_value=-0.09, max_value=0.09, allow_nan=False), min_size=6, max_size=22)
volumes = st.lists(st.sampled_from([0.0, 0.4, 3.0, 1_000_000.0]), min_size=23, max_size=23)
flags = st.lists(st.booleans(), min_size=23, max_size=23)


async def _scenario(url: str, steps: list[float], volume: list[float], choch: list[bool]) -> None:
    start = to_ms(T0)
    price = 101.0
    points = [(start, price)]
    for i, move in enumerate(steps):
        price = max(1.0, price * (1 + move))
        points.append((start + (i + 1) * int(STEP.total_seconds() * 1000), price))
    points.append((start + 10_000 * 60_000, price))
    prices = ScriptedPrices({"SOL/USDT": points}, volume=1_000_000.0)
    exchange = SimulatedExchange(prices, start_ms=start)
    account = uuid.uuid4().hex[:8]
    exchange.open_account(account, {"USDT": Decimal(1000)})
    client = SimulatedExchangeClient(exchange, account)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        store = SqlTradingStore(sessions)
        clock = ManualClock(T0)
        user_id = await register_user(sessions, f"{account}@example.com")
        state = {"i": 0}
        execution = UserExecution(
            client,
            store,
            RowEntryLock(sessions, clock),
            clock,
            ExecutionConfig(namespace=f"p{account}"),
            signals=StructureSignals(
                bullish_choch_15m=lambda _s: choch[state["i"]],
                latest_higher_low=lambda _s: float(exchange.price("SOL/USDT")) * 0.95,
            ),
        )
        profile = TradingProfile(
            user_id=user_id,
            exchange_id="sandbox",
            plan="pro",
            capacity=10,
            allocation_mode=AllocationMode.FIXED,
            allocation_value=Decimal(200),
            permissions_verified_at=T0,
        )
        outcome = await execution.enter(profile, candidate(stop="90", pt1="108", pt2="125"))
        assert outcome.position is not None and outcome.position.id is not None
        pid = outcome.position.id
        for i in range(len(steps) + 1):
            state["i"] = i
            prices.volume = volume[i]  # thin segments make partial fills
            clock.advance(STEP)
            exchange.advance_to(to_ms(clock.now()))
            await execution.manage(profile)
            position = await store.get_position(pid)
            assert position is not None
            orders = await store.orders_for(pid)
            assert not [o for o in orders if o.side is Side.SELL and o.state is OrderState.REJECTED], orders
            venue = exchange.orders(account, "SOL/USDT")
            assert not [o for o in venue if o.side == "Sell" and o.status == "Rejected"]
            if position.state in FILLED:
                rules = (await client.load_markets())["SOL/USDT"]
                sellable = rules.round_qty_down(position.held_qty)
                stops = [o for o in venue if o.active and o.trigger_price is not None]
                if sellable >= rules.min_qty and sellable * position.stop_price >= rules.min_notional:
                    assert len(stops) == 1, (position, stops)
                    assert stops[0].qty == sellable
                    assert stops[0].trigger_price == position.stop_price
            if position.state is PositionState.CLOSED:
                assert position.realised_pnl_quote is not None
                slippage = sum(
                    (
                        max(Decimal(0), (o.trigger_price or position.stop_price) - (o.avg_price or 0))
                        * o.filled_base
                        for o in orders
                        if o.role in (OrderRole.STOP, OrderRole.EXIT)
                    ),
                    Decimal(0),
                )
                bound = position.planned_r_quote + position.fees_quote + slippage + Decimal("0.01")
                assert -position.realised_pnl_quote <= bound
                break
        final = await store.get_position(pid)
        assert final is not None
        event(f"ended {final.state.value} {final.exit_reason or ''}, leg 2 {final.leg2_state.value}")
    finally:
        await engine.dispose()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=moves, volume=volumes, choch=flags)
def test_position_invariants_hold_on_random_paths_and_fills(
    journal_url: str, steps: list[float], volume: list[float], choch: list[bool]
) -> None:
    asyncio.run(_scenario(journal_url, steps, volume, choch))


@pytest.mark.soak
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=moves, volume=volumes, choch=flags)
def test_position_invariants_hold_on_many_random_paths(
    journal_url: str, steps: list[float], volume: list[float], choch: list[bool]
) -> None:
    asyncio.run(_scenario(journal_url, steps, volume, choch))
