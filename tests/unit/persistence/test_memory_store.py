"""The backtest's in-memory journal: its indexed reads answer what a scan of every record answers,
and every read is a fresh copy, whatever sequence of writes came before."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.engine.records import position_record

from qari.adapters.persistence.memory import MemoryTradingStore
from qari.core.orders import OrderType, Side
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import ExitReason, PositionState
from qari.trading.records import OrderRecord, PositionRecord

START = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
SYMBOLS = ("SOL/USDT", "ETH/USDT")
EXCHANGES = ("sandbox", "bybit")
USERS = (1, 2)


def a_position(user_id: int, exchange_id: str, symbol: str) -> PositionRecord:
    """The engine tests' position, with decimals a SQL read-back would normalise and a JSON list."""
    return dataclasses.replace(
        position_record(symbol, PositionState.PENDING, START),
        user_id=user_id,
        exchange_id=exchange_id,
        entry_price=Decimal("100.10"),
        leg1_qty=Decimal("1.50"),
        layer_results=[{"layer": 1, "vote": "agree"}],
    )


@dataclasses.dataclass(frozen=True)
class Add:
    user_id: int
    exchange_id: str
    symbol: str


@dataclasses.dataclass(frozen=True)
class Save:
    pick: int  # which position (modulo how many exist)
    state: PositionState
    exit_reason: str | None
    closed_hours: int | None  # closed this many hours after START


add = st.builds(Add, st.sampled_from(USERS), st.sampled_from(EXCHANGES), st.sampled_from(SYMBOLS))
save = st.builds(
    Save,
    st.integers(min_value=0, max_value=3),
    st.sampled_from(list(PositionState)),
    st.sampled_from([None, ExitReason.STOP_LOSS.value, ExitReason.PT2_AND_TRAIL.value]),
    st.one_of(st.none(), st.integers(min_value=0, max_value=100)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(add, save), max_size=40))
def test_memory_store_when_positions_written_then_indexed_reads_equal_a_full_scan(
    steps: list[Add | Save],
) -> None:
    asyncio.run(_replay_and_compare(steps))


async def _replay_and_compare(steps: list[Add | Save]) -> None:
    # Arrange / Act: the writes, in order
    store = MemoryTradingStore()
    ids: list[int] = []
    for step in steps:
        if isinstance(step, Add):
            added = await store.add_position(a_position(step.user_id, step.exchange_id, step.symbol))
            assert added.id is not None
            ids.append(added.id)
        elif ids:
            position = await store.get_position(ids[step.pick % len(ids)])
            assert position is not None
            position.state = step.state
            position.exit_reason = step.exit_reason
            hours = step.closed_hours
            position.closed_at = None if hours is None else START + dt.timedelta(hours=hours)
            await store.save_position(position)

    # Assert: every indexed read equals the scan of all positions it stands for
    for user_id in USERS:
        everything = await store.all_positions(user_id)
        for exchange_id in (None, *EXCHANGES):
            expected = [
                p for p in everything if p.is_open and (exchange_id is None or p.exchange_id == exchange_id)
            ]
            assert await store.open_positions(user_id, exchange_id) == expected
        for symbol in SYMBOLS:
            stops = [
                p.closed_at
                for p in everything
                if p.symbol == symbol and p.exit_reason == ExitReason.STOP_LOSS.value and p.closed_at
            ]
            assert await store.last_stop_loss_at(user_id, symbol) == max(stops, default=None)


async def test_memory_store_when_records_read_then_fresh_copies_with_normalised_decimals() -> None:
    # Arrange
    store = MemoryTradingStore()
    position = await store.add_position(a_position(1, "sandbox", "SOL/USDT"))
    assert position.id is not None
    order = await store.add_order(
        OrderRecord(
            position_id=position.id,
            user_id=1,
            symbol="SOL/USDT",
            role=OrderRole.LEG1,
            side=Side.BUY,
            type=OrderType.LIMIT,
            qty_base=Decimal("1.50"),
            client_order_id="q1-1-leg11",
            created_at=START,
            price=Decimal("100.10"),
        )
    )
    order.state = OrderState.SUBMITTED
    await store.save_order(order)

    # Act
    (first,) = await store.open_positions(1)
    first.layer_results[0]["vote"] = "changed"  # a reader changing its copy, lists included
    first.stop_price = Decimal(1)
    (again,) = await store.open_positions(1)
    (order_back,) = await store.orders_for(position.id)
    order_back.state = OrderState.FILLED

    # Assert: the journal kept what was written; decimals come back normalised, like SQL reads
    assert again is not first and again.layer_results == [{"layer": 1, "vote": "agree"}]
    assert again.stop_price == Decimal(90) and str(again.leg1_qty) == "1.5"
    assert str(again.entry_price) == "100.1" and position.entry_price is not again.entry_price
    assert dataclasses.replace(again, layer_results=[]) != dataclasses.replace(first, layer_results=[])
    (order_again,) = await store.orders_for(position.id)
    assert order_again.state is OrderState.SUBMITTED and order_again.updated_at == START
    assert str(order_again.qty_base) == "1.5"
