"""Reconciliation over the in-process venue: a fill that happened while nobody watched is counted,
protected and journaled, with the position's orders read from the venue once, by the management
pass, not a second time before it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.unit.engine.records import AdmitAll, position_record

from qari.adapters.persistence.memory import MemoryEntryLock, MemoryTradingStore
from qari.adapters.simulator.client import SimulatedExchangeClient
from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.prices import CandleReplay
from qari.core.clocks import ManualClock
from qari.core.orders import OrderType, Side
from qari.core.time import from_ms
from qari.engine.execution import ExecutionConfig, StructureSignals, UserExecution
from qari.engine.reconciliation import reconcile
from qari.risk.profile import TradingProfile
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import PositionState
from qari.trading.records import PositionRecord

T0 = 1_704_067_200_000  # 2024-01-01, a Monday
STEP = 300_000


class Recording:
    """The client, with every call's name and first argument written down in order."""

    def __init__(self, inner: SimulatedExchangeClient) -> None:
        self.inner = inner
        self.exchange_id = inner.exchange_id
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.inner, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args[0] if args else None))
            return await method(*args, **kwargs)

        return call


@dataclass
class Rig:
    """SOL/USDT replayed from 100-ish candles, an account, a journal and Leg 1 resting at 100; the
    candles from the third on dip to 98, so it fills once the venue gets there with nobody managing."""

    venue: SimulatedExchange
    client: Recording
    store: MemoryTradingStore
    clock: ManualClock
    position: PositionRecord

    def execution(self) -> UserExecution:
        """A fresh one per pass, as the engine's units make them."""
        return UserExecution(
            self.client,  # type: ignore[arg-type]
            self.store,
            MemoryEntryLock(),
            self.clock,
            ExecutionConfig(namespace="q"),
            signals=StructureSignals(lambda _series: False, lambda _series: None),
            guard=AdmitAll(),  # a venue with no market history: the guard's floor is not under test
        )

    def step_to(self, step: int) -> None:
        self.venue.advance_to(T0 + step * STEP)
        self.clock.set(from_ms(T0 + step * STEP))


async def leg1_filled_unwatched(tmp_path: Path) -> Rig:
    """The rig with Leg 1 placed, then the venue moved past the dip: filled, nobody has looked yet."""
    rows = [[T0 + i * STEP, 101.0, 101.0, 101.0, 101.0, 1000.0] for i in range(2)]
    rows += [[T0 + (2 + i) * STEP, 101.0, 101.0, 98.0, 99.0, 1000.0] for i in range(20)]
    (tmp_path / "SOL_USDT-5m.json").write_text(json.dumps(rows))
    venue = SimulatedExchange(CandleReplay.from_dir(tmp_path), start_ms=T0)
    venue.open_account("a", {"USDT": Decimal(10_000)})
    store = MemoryTradingStore()
    clock = ManualClock(from_ms(T0))
    position = await store.add_position(position_record("SOL/USDT", PositionState.PENDING, clock.now()))
    rig = Rig(venue, Recording(SimulatedExchangeClient(venue, "a")), store, clock, position)
    leg1 = await rig.execution().orders.place(
        position, OrderRole.LEG1, Side.BUY, OrderType.LIMIT, Decimal(1), price=Decimal(100)
    )
    assert leg1.state is OrderState.OPEN
    rig.step_to(4)
    return rig


async def test_reconcile_when_leg1_filled_unwatched_then_protected_and_journaled_reading_orders_once(
    tmp_path: Path,
) -> None:
    # Arrange: Leg 1 rests at 100; the next candles dip to 98 and it fills while nobody manages it
    rig = await leg1_filled_unwatched(tmp_path)
    position, store, venue, client = rig.position, rig.store, rig.venue, rig.client
    client.calls.clear()

    # Act
    report = await reconcile(rig.execution(), TradingProfile(user_id=1, exchange_id="sandbox"))

    # Assert: the fill counts, a stop rests for it, and its execution is in the journal
    after = await store.get_position(position.id)
    assert after is not None and after.state is PositionState.OPEN
    assert after.bought_qty == Decimal(1)
    stops = [o for o in venue.orders("a", active=True) if o.trigger_price is not None]
    assert [(o.trigger_price, o.qty) for o in stops] == [(Decimal(90), after.held_qty)]
    fills = await store.fills_for(position.id)
    assert [(f.side, f.qty_base) for f in fills] == [(Side.BUY, Decimal(1))] and report.fills_booked == 1
    assert report.positions == 1 and report.orders_checked == 1 and report.orphans == []
    # ... the orphan scan comes first: the position's orders are read by the management pass alone,
    # and its executions are copied after that pass placed the stop
    names = [name for name, _ in client.calls]
    assert client.calls[0] == ("fetch_open_orders", None)
    assert names.index("create_order") < names.index("fetch_fills")
    per_symbol = [i for i, call in enumerate(client.calls) if call == ("fetch_open_orders", "SOL/USDT")]
    assert per_symbol and names.index("fetch_ticker") > per_symbol[0]


async def test_reconcile_when_nothing_changed_since_last_pass_then_orders_read_once_and_no_fill_read(
    tmp_path: Path,
) -> None:
    # Arrange: as above, Leg 1 filled unwatched and the first reconciliation protected and booked it
    rig = await leg1_filled_unwatched(tmp_path)
    first = await reconcile(rig.execution(), TradingProfile(user_id=1, exchange_id="sandbox"))
    assert first.fills_booked == 1
    rig.step_to(5)  # the price stays above the stop: nothing fills, nothing is due
    rig.client.calls.clear()

    # Act
    report = await reconcile(rig.execution(), TradingProfile(user_id=1, exchange_id="sandbox"))

    # Assert: the stop still rests, the position's orders were read from the venue once (no re-read
    # before protection and close: the pass changed none), and its fills not at all (all journaled)
    assert rig.position.id is not None
    after = await rig.store.get_position(rig.position.id)
    assert after is not None and after.state is PositionState.OPEN and report.fills_booked == 0
    assert [o.trigger_price for o in rig.venue.orders("a", active=True)] == [Decimal(90)]
    calls = rig.client.calls
    assert calls.count(("fetch_open_orders", "SOL/USDT")) == 1
    assert [name for name, _ in calls if name in ("fetch_fills", "create_order", "cancel_order")] == []
