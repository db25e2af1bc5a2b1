"""The blast-radius guard on the real order path: the engine's `OrderManager`, unmodified ccxt, the
sandbox over HTTP (Bybit v5 protocol). Buys the engine asks for are refused above a cap, in a thin
symbol, far above the price, or on a halted key; a stop or exit in the same conditions goes through."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from sqlalchemy import select
from tests.unit.engine.records import position_record

from qari.adapters.persistence.tables.accounts import UserSettings
from qari.adapters.persistence.tables.alerts import AlertOutbox
from qari.adapters.persistence.tables.trading import PositionEventRow
from qari.core.orders import OrderRequest, OrderType, Side
from qari.engine.reconciliation import reconcile
from qari.services import risk_settings
from qari.services.risk_settings import RiskSettings
from qari.services.trading_profiles import load_trading_profile
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import PositionState
from qari.trading.records import OrderRecord, PositionRecord

from .rig import Rig, at, rig_for
from .support import register_user

D = Decimal
FLAT = {"SOL/USDT": [(at(0), 100.0), (at(600), 100.0)]}
HOLDING = {"USDT": "100000", "SOL": "50"}


async def _kinds(rig: Rig) -> tuple[list[str], list[str]]:
    async with rig.sessions() as session:
        events = (await session.execute(select(PositionEventRow.kind))).scalars().all()
        alerts = (await session.execute(select(AlertOutbox.kind))).scalars().all()
    return list(events), list(alerts)


def _position(rig: Rig) -> PositionRecord:
    record = position_record("SOL/USDT", PositionState.OPEN, rig.clock.now())
    return dataclasses.replace(record, user_id=rig.user_id, exchange_id="sandbox")


async def _buy_and_protect(rig: Rig, qty: str, price: str) -> tuple[OrderRecord, OrderRecord, OrderRecord]:
    """The engine's order manager asked for a limit buy, then a protective stop and a market exit."""
    position = _position(rig)
    orders = rig.execution.orders
    bought = await orders.place(position, OrderRole.LEG2, Side.BUY, OrderType.LIMIT, D(qty), price=D(price))
    stop = await orders.place(
        position, OrderRole.STOP, Side.SELL, OrderType.STOP_MARKET, D(2), trigger_price=D(80)
    )
    exit_ = await orders.place(position, OrderRole.EXIT, Side.SELL, OrderType.MARKET, D(1))
    return bought, stop, exit_


def _assert_refused_but_exits_pass(
    rig: Rig, bought: OrderRecord, stop: OrderRecord, exit_: OrderRecord, code: str
) -> None:
    assert bought.state is OrderState.REJECTED and f"guard {code}" in bought.note, bought.note
    assert bought.exchange_order_id is None  # never sent
    assert [o for o in rig.venue_orders(open_only=False) if o.get("side") == "Buy"] == []
    assert stop.state is OrderState.OPEN and len(rig.venue_stops()) == 1
    # Bybit's create answer carries no status: accepted by the venue is what the send can show.
    assert exit_.state is not OrderState.REJECTED and exit_.exchange_order_id is not None, exit_.note


async def test_guard_when_engine_entry_above_the_users_cap_then_leg1_refused_recorded_and_alerted(
    sqlite_url: str,
) -> None:
    async with rig_for(FLAT, sqlite_url, balances=HOLDING) as rig:
        async with rig.sessions() as session:  # the user lowers their cap in the risk settings
            row = await session.get(UserSettings, rig.user_id)
            assert row is not None
            risk_settings.to_row(
                risk_settings.apply_update(RiskSettings(), {"guard_order_cap_usdt": "50"}, capacity=10), row
            )
            await session.commit()
            stored = await load_trading_profile(session, rig.user_id, "sandbox", rig.clock.now())
        assert (stored.guard_order_cap_usdt, stored.guard_day_cap_usdt) == (D(50), None)
        # Leg 1 is ~100 USDT, within the plan's cap, above the user's
        rig.profile = dataclasses.replace(rig.profile, guard_order_cap_usdt=stored.guard_order_cap_usdt)
        outcome = await rig.enter()
        assert outcome.decision.passed and outcome.position is not None  # the engine asked for it
        assert outcome.position.id is not None
        (leg1,) = await rig.orders(outcome.position.id)
        assert leg1.state is OrderState.REJECTED and "guard order_cap" in leg1.note, leg1.note
        assert rig.venue_orders(open_only=False) == []
        closed = await rig.position(outcome.position.id)  # not left pending: closed as refused
        assert (closed.state, closed.exit_reason) == (PositionState.CANCELED, "entry_rejected")
        events, alerts = await _kinds(rig)
        assert "guard_refused" in events and "guard_refused" in alerts


async def test_guard_when_entry_within_caps_in_liquid_market_then_sent(sqlite_url: str) -> None:
    async with rig_for(FLAT, sqlite_url, balances=HOLDING) as rig:
        outcome = await rig.enter()
        assert outcome.position is not None and outcome.position.id is not None
        (leg1,) = await rig.orders(outcome.position.id)
        assert leg1.state is OrderState.OPEN, leg1.note
        assert (await _kinds(rig))[1] == []


async def test_guard_when_order_above_plan_cap_then_refused_while_stop_and_exit_go_through(
    sqlite_url: str,
) -> None:
    async with rig_for(FLAT, sqlite_url, balances=HOLDING) as rig:
        rig.execution.orders.guard.know(rig.profile)  # pro: 10,000 USDT per order
        bought, stop, exit_ = await _buy_and_protect(rig, qty="150", price="100")
        _assert_refused_but_exits_pass(rig, bought, stop, exit_, "order_cap")


async def test_guard_when_day_cap_reached_then_next_buy_refused_also_after_a_restart(
    sqlite_url: str,
) -> None:
    async with rig_for(FLAT, sqlite_url, balances=HOLDING) as rig:
        rig.profile = dataclasses.replace(rig.profile, guard_day_cap_usdt=D(250))
        rig.execution.orders.guard.know(rig.profile)
        position = _position(rig)
        orders = rig.execution.orders
        first = await orders.place(position, OrderRole.LEG1, Side.BUY, OrderType.LIMIT, D(1), price=D(99))
        second = await orders.place(position, OrderRole.LEG2, Side.BUY, OrderType.LIMIT, D(1), price=D(99))
        assert [first.state, second.state] == [OrderState.OPEN, OrderState.OPEN]  # 198 USDT today
        third = await orders.place(position, OrderRole.LEG2, Side.BUY, OrderType.LIMIT, D(1), price=D(99))
        assert third.state is OrderState.REJECTED and "guard day_cap" in third.note, third.note

        rig.execution = rig.new_execution()  # a restart: the day's buys are read from the journal
        rig.execution.orders.guard.know(rig.profile)
        again = await rig.execution.orders.place(
            position, OrderRole.LEG2, Side.BUY, OrderType.LIMIT, D(1), price=D(99)
        )
        assert again.state is OrderState.REJECTED and "guard day_cap" in again.note, again.note
        assert len([o for o in rig.venue_orders() if o.get("side") == "Buy"]) == 2


async def test_guard_when_symbol_thin_then_buy_refused_while_stop_and_exit_go_through(
    sqlite_url: str,
) -> None:
    async with rig_for(FLAT, sqlite_url, balances=HOLDING) as rig:
        rig.prices.volume = 5.0  # 5 SOL a minute: ~720,000 USDT a day, below the 1,000,000 floor
        bought, stop, exit_ = await _buy_and_protect(rig, qty="1", price="100")
        _assert_refused_but_exits_pass(rig, bought, stop, exit_, "thin_turnover")


async def test_guard_when_buy_far_above_the_price_then_refused_while_stop_and_exit_go_through(
    sqlite_url: str,
) -> None:
    async with rig_for(FLAT, sqlite_url, balances=HOLDING) as rig:
        bought, stop, exit_ = await _buy_and_protect(rig, qty="1", price="106")  # last 100, band 5 %
        _assert_refused_but_exits_pass(rig, bought, stop, exit_, "price_band")


async def test_guard_when_key_trades_outside_qari_then_key_halted_alerted_and_exits_still_pass(
    sqlite_url: str,
) -> None:
    async with rig_for(FLAT, sqlite_url, balances=HOLDING) as rig:
        operator = await register_user(rig.sessions, "operator@example.com")
        rig.execution.orders.guard.operator_user_id = operator
        # Someone with the key places a buy QARI did not make.
        await rig.client.create_order(
            OrderRequest("SOL/USDT", Side.BUY, OrderType.LIMIT, D(1), "thief1", price=D(90))
        )
        report = await reconcile(rig.execution, rig.profile)
        assert report.halts == ["buy SOL/USDT placed outside QARI"]
        async with rig.sessions() as session:
            alerted = (await session.execute(select(AlertOutbox.user_id, AlertOutbox.kind))).all()
        assert sorted(alerted) == sorted([(rig.user_id, "guard_halt"), (operator, "guard_halt")])

        outcome = await rig.enter()  # the engine asks for an entry on the halted key
        assert outcome.position is not None and outcome.position.id is not None
        (leg1,) = await rig.orders(outcome.position.id)
        assert leg1.state is OrderState.REJECTED and "guard halted" in leg1.note, leg1.note
        bought, stop, exit_ = await _buy_and_protect(rig, qty="1", price="100")
        assert bought.state is OrderState.REJECTED and "guard halted" in bought.note
        assert stop.state is OrderState.OPEN and exit_.exchange_order_id is not None
