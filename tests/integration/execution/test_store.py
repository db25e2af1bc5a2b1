"""SqlTradingStore round-trips on SQLite and PostgreSQL: Decimals exact, times aware, fills idempotent."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from qari.adapters.persistence.db import make_sessionmaker
from qari.adapters.persistence.memory import MemoryTradingStore
from qari.adapters.persistence.repositories.trading import SqlTradingStore
from qari.core.orders import OrderType, Side
from qari.risk.kill_switch import RealisedR
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import ExitReason, PositionState
from qari.trading.records import FillRecord, GateRecord, OrderRecord, PositionRecord

from .support import START, migrated_engine, register_user

# As the engine records them (`LayerResult.to_dict`), the shape GET /trades declares.
LAYERS = [
    {
        "layer": 1,
        "name": "Market structure",
        "vote": "agree",
        "score": 0.8,
        "explanation": "higher lows",
        "evidence": {},
    }
]


def a_position(user_id: int) -> PositionRecord:
    return PositionRecord(
        user_id=user_id,
        exchange_id="sandbox",
        symbol="SOL/USDT",
        base="SOL",
        state=PositionState.PENDING,
        entry_price=Decimal("100.12"),
        structural_stop=Decimal("85.5"),
        stop_price=Decimal("85.5"),
        pt1=Decimal("120"),
        pt2=Decimal("140"),
        leg1_qty=Decimal("0.123456789012345678"),
        leg2_qty=Decimal("0.5"),
        planned_r_quote=Decimal("14.6"),
        fee_rate=Decimal("0.001"),
        leg1_expires_at=START + dt.timedelta(hours=4),
        leg2_expires_at=START + dt.timedelta(hours=24),
        opened_at=START,
        explanation="three layers agree",
        layer_results=LAYERS,
    )


async def test_store_when_position_orders_fills_written_then_read_back_exactly(database_url: str) -> None:
    engine = await migrated_engine(database_url)
    try:
        sessions = make_sessionmaker(engine)
        await exercise_store(SqlTradingStore(sessions), await register_user(sessions))
    finally:
        await engine.dispose()


async def test_memory_store_when_same_writes_then_same_read_back_as_sql() -> None:
    """The backtest's journal keeps the SQL store's read-back semantics (copies, dedupe, ledger)."""
    await exercise_store(MemoryTradingStore(), 7)


async def exercise_store(store: Any, user_id: int) -> None:
    position = await store.add_position(a_position(user_id))
    assert position.id is not None
    order = await store.add_order(
        OrderRecord(
            position_id=position.id,
            user_id=user_id,
            symbol="SOL/USDT",
            role=OrderRole.LEG1,
            side=Side.BUY,
            type=OrderType.LIMIT,
            qty_base=position.leg1_qty,
            client_order_id="q1-1-leg11",
            created_at=START,
            price=position.entry_price,
        )
    )
    order.state = OrderState.FILLED
    order.filled_base = position.leg1_qty
    await store.save_order(order)
    fill = FillRecord(
        position.id,
        order.id or 0,
        user_id,
        "SOL/USDT",
        "t1",
        Side.BUY,
        Decimal("100.12"),
        position.leg1_qty,
        Decimal("0.0001"),
        "SOL",
        START,
    )
    assert await store.add_fills([fill, fill]) == 1

    back = await store.get_position(position.id)
    assert back is not None
    assert back.leg1_qty == Decimal("0.123456789012345678")
    assert back.opened_at == START and back.opened_at.tzinfo is not None
    assert back.layer_results == LAYERS
    (order_back,) = await store.orders_for(position.id)
    assert order_back.state is OrderState.FILLED and order_back.client_order_id == "q1-1-leg11"
    assert [p.id for p in await store.open_positions(user_id)] == [position.id]

    gate_id = await store.record_gate(
        GateRecord(user_id, "sandbox", "SOL/USDT", False, "G09", "G09 spread", [{"code": "G09"}], {}, START)
    )
    assert gate_id > 0

    back.state = PositionState.CLOSED
    back.exit_reason = ExitReason.STOP_LOSS.value
    back.closed_at = START + dt.timedelta(hours=1)
    back.realised_pnl_quote = Decimal("-14.6")
    back.realised_r = Decimal("-1")
    await store.save_position(back, realised=RealisedR(back.closed_at, Decimal("-1")))
    assert await store.open_positions(user_id) == []
    assert await store.last_stop_loss_at(user_id, "SOL/USDT") == back.closed_at
    entries = await store.r_entries(user_id, START - dt.timedelta(days=1))
    assert [e.r for e in entries] == [Decimal(-1)]
    await store.record_event(back, "stop_loss", "stopped", back.closed_at, alert={"symbol": "SOL/USDT"})

    again = await store.get_position(position.id)
    assert again is not None and again is not back
    again.pt1 = Decimal(1)  # a read-back is a copy: changing it writes nothing
    assert (await store.all_positions(user_id))[0].pt1 == Decimal(120)
    (only_fill,) = await store.fills_for(position.id)
    assert only_fill.trade_id == "t1" and only_fill.fee == Decimal("0.0001")


async def test_store_last_stop_losses_at_when_several_symbols_then_one_answer_each(database_url: str) -> None:
    # Arrange: SOL stopped out twice (the later one counts), ETH closed at PT2 (not a stop-loss),
    # another user's DOGE stop-loss, and an open SOL position.
    engine = await migrated_engine(database_url)
    try:
        sessions = make_sessionmaker(engine)
        user_id = await register_user(sessions)
        await exercise_last_stop_losses(SqlTradingStore(sessions), user_id)
    finally:
        await engine.dispose()


async def test_memory_store_last_stop_losses_at_when_several_symbols_then_as_sql() -> None:
    await exercise_last_stop_losses(MemoryTradingStore(), 7)


async def exercise_last_stop_losses(store: Any, user_id: int) -> None:
    async def closed(symbol: str, reason: ExitReason, hours: int, owner: int = user_id) -> None:
        position = await store.add_position(
            dataclasses.replace(a_position(owner), symbol=symbol, base=symbol.split("/")[0])
        )
        position.state = PositionState.CLOSED
        position.exit_reason = reason.value
        position.closed_at = START + dt.timedelta(hours=hours)
        await store.save_position(position)

    await closed("SOL/USDT", ExitReason.STOP_LOSS, 1)
    await closed("SOL/USDT", ExitReason.STOP_LOSS, 5)
    await closed("ETH/USDT", ExitReason.PT2_AND_TRAIL, 2)
    await closed("DOGE/USDT", ExitReason.STOP_LOSS, 3, owner=user_id + 1000)
    await store.add_position(a_position(user_id))

    # Act
    found = await store.last_stop_losses_at(user_id, ["SOL/USDT", "ETH/USDT", "DOGE/USDT", "ADA/USDT"])

    # Assert: every symbol asked is answered, as the one-symbol read answers it
    assert found == {
        "SOL/USDT": START + dt.timedelta(hours=5),
        "ETH/USDT": None,
        "DOGE/USDT": None,
        "ADA/USDT": None,
    }
    assert found["SOL/USDT"] is not None and found["SOL/USDT"].tzinfo is not None
    for symbol, at in found.items():
        assert await store.last_stop_loss_at(user_id, symbol) == at
    assert await store.last_stop_losses_at(user_id, []) == {}
