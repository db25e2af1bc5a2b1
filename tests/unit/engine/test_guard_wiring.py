"""The guard's application side (`qari.engine.guard.OrderGuard`) over the in-process simulator with the
demo's synthetic market: halts span users, and the demo's market passes the floor at default settings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from tests.unit.engine.records import position_record

from qari.adapters.persistence.memory import MemoryTradingStore
from qari.adapters.simulator.client import SimulatedExchangeClient
from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.prices import DEFAULT_SYNTHETIC, SyntheticMarket
from qari.core.clocks import ManualClock
from qari.core.orders import OrderType, Side
from qari.core.time import to_ms
from qari.engine.orders import OrderManager
from qari.risk.guard import VenueActivity
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import PositionState

AT = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


def _client() -> SimulatedExchangeClient:
    venue = SimulatedExchange(SyntheticMarket(7), start_ms=to_ms(AT))
    venue.open_account("a", {"USDT": Decimal(100_000)})
    return SimulatedExchangeClient(venue, "a")


async def _buy(manager: OrderManager, user_id: int, symbol: str, notional: Decimal) -> OrderState:
    ticker = await manager.exchange.fetch_ticker(symbol)
    assert ticker.bid is not None
    rules = (await manager.exchange.load_markets())[symbol]
    qty = rules.round_qty_down(notional / ticker.bid)
    position = position_record(symbol, PositionState.PENDING, AT)
    position.user_id = user_id
    order = await manager.place(position, OrderRole.LEG1, Side.BUY, OrderType.LIMIT, qty, price=ticker.bid)
    assert order.state is not OrderState.REJECTED or order.note.startswith("GuardRefusedError"), order.note
    return order.state


@pytest.mark.parametrize("symbol", [s.symbol for s in DEFAULT_SYNTHETIC])
async def test_guard_when_demo_market_at_default_settings_then_a_trial_sized_buy_passes(symbol: str) -> None:
    manager = OrderManager(_client(), MemoryTradingStore(), ManualClock(AT))
    assert await _buy(manager, 1, symbol, Decimal(1_000)) is OrderState.OPEN


async def test_guard_when_two_keys_buy_one_symbol_outside_qari_then_symbol_halted_for_everyone() -> None:
    store = MemoryTradingStore()
    manager = OrderManager(_client(), store, ManualClock(AT))
    guard = manager.guard
    guard.operator_user_id = 99

    def foreign(user_id: int) -> VenueActivity:
        return VenueActivity(user_id, "sandbox", "DOGE/USDT", Side.BUY, None, AT)

    first = await guard.observe([foreign(1)], set(), store, AT)  # one unit per user, one after the other
    second = await guard.observe([foreign(2)], set(), store, AT)
    assert [(h.user_id, h.symbol) for h in first] == [(1, None)]
    assert [(h.user_id, h.symbol) for h in second] == [(2, None), (None, "DOGE/USDT")]
    assert sorted((u, k) for u, k, _data, _at in store.alerts) == sorted(
        [(1, "guard_halt"), (99, "guard_halt"), (2, "guard_halt"), (99, "guard_halt"), (99, "guard_halt")]
    )

    assert await _buy(manager, 3, "DOGE/USDT", Decimal(100)) is OrderState.REJECTED  # a third user
    assert await _buy(manager, 3, "SOL/USDT", Decimal(100)) is OrderState.OPEN
    assert await _buy(manager, 1, "SOL/USDT", Decimal(100)) is OrderState.REJECTED  # the halted key
    assert [k for _p, k, _m, _at in store.events] == ["guard_refused", "guard_refused"]
