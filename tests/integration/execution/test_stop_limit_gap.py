"""A stop-limit passed by a gap, on the Binance protocol of the sandbox (QARI's ccxt client rests the stop
as Binance's STOP_LOSS_LIMIT: trigger at the stop, limit `stop_limit_offset` below it, from the venue data).

The gap is a book with no bids between the trigger and the limit when the price falls through (the
sandbox's book model with a 2.5 % spread, as in a crash): the triggered sell rests above the market.
"""

from __future__ import annotations

from decimal import Decimal

from qari.adapters.exchanges.capabilities import capabilities_for
from qari.adapters.simulator.fill_model import BookModel
from qari.core.orders import OrderType, Side
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import ExitReason, PositionState

from .rig import Rig, at, journal, rig_for

ENTRY_PATH = [(at(0), 101.0), (at(10), 101.0), (at(15), 99.5), (at(30), 101.0), (at(40), 101.0)]
STOP = Decimal(85)
LIMIT = STOP * (1 - capabilities_for("binance").stop_limit_offset)  # 84.15


async def _entered(rig: Rig) -> int:
    """Leg 1 fills on the dip through 100; the stop-limit rests on the venue."""
    outcome = await rig.enter()
    assert outcome.decision.passed, outcome.decision.headline
    assert outcome.position is not None and outcome.position.id is not None
    rig.step(20)
    await rig.manage()
    position = await rig.position(outcome.position.id)
    assert position.state is PositionState.OPEN and position.bought_qty > 0
    stops = rig.venue_stops()
    assert len(stops) == 1, stops
    assert Decimal(stops[0]["triggerPrice"]) == STOP and Decimal(stops[0]["price"]) == LIMIT
    return outcome.position.id


async def test_stop_limit_when_price_gaps_below_its_limit_then_watchdog_sells_once_at_market(
    sqlite_url: str,
) -> None:
    async with rig_for({"SOL/USDT": ENTRY_PATH}, sqlite_url, venue="binance") as rig:
        pid = await _entered(rig)
        rig.server.venue.exchange.book = BookModel(spread_bps=Decimal(250))
        rig.prices.extend("SOL/USDT", [(at(41), 70.0), (at(60), 70.0)])
        rig.step(25)  # 101 -> 70 within a minute: the stop triggers, its limit at 84.15 finds no bid
        stop = next(o for o in await rig.orders(pid) if o.role is OrderRole.STOP)
        assert len(rig.venue_stops()) == 1, "the triggered stop-limit rests above the market"

        await rig.manage()
        await rig.manage()  # a second pass sells nothing more
        position = await rig.position(pid)
        orders = await rig.orders(pid)
        log = "\n".join(await journal(rig, pid))
        assert position.state is PositionState.CLOSED, log
        assert position.exit_reason == ExitReason.STOP_LOSS.value
        sells = [o for o in orders if o.side.value == "sell" and o.filled_base > 0]
        assert [o.role for o in sells] == [OrderRole.EXIT], log  # one market sell, the stop sold nothing
        exit_order = sells[0]
        assert exit_order.filled_base == position.bought_qty - position.fee_base
        stop = next(o for o in orders if o.client_order_id == stop.client_order_id)
        assert stop.state is OrderState.CANCELED and stop.filled_base == 0
        assert rig.venue_orders() == [] and rig.base_balance() == 0
        assert "the stop-limit was passed by a gap: QARI's watchdog sold" in log
        # Realised R is the loss at the gapped price (about 69.1, the bid at 70), not at the stop.
        assert exit_order.avg_price is not None and position.blended_entry is not None
        assert position.realised_r is not None
        assert Decimal("68.5") < exit_order.avg_price < Decimal("69.2")
        gapped_r = (exit_order.avg_price - position.blended_entry) * exit_order.filled_base
        assert abs(position.realised_r - gapped_r / position.planned_r_quote) < Decimal("0.05")
        assert position.realised_r < (LIMIT - Decimal(100)) * position.bought_qty / position.planned_r_quote


async def test_stop_limit_when_price_touches_between_trigger_and_limit_then_the_venue_sells_not_the_watchdog(
    sqlite_url: str,
) -> None:
    async with rig_for({"SOL/USDT": ENTRY_PATH}, sqlite_url, venue="binance") as rig:
        pid = await _entered(rig)
        rig.prices.extend("SOL/USDT", [(at(41), 84.5), (at(60), 84.5)])
        rig.step(25)  # the stop triggers at 85 and its limit at 84.15 meets the bids at once
        await rig.manage()
        await rig.manage()
        position = await rig.position(pid)
        orders = await rig.orders(pid)
        log = "\n".join(await journal(rig, pid))
        assert position.state is PositionState.CLOSED and position.exit_reason == ExitReason.STOP_LOSS.value
        sells = [o for o in orders if o.side.value == "sell" and o.filled_base > 0]
        assert [o.role for o in sells] == [OrderRole.STOP], log  # no watchdog sell
        assert sells[0].avg_price is not None and LIMIT <= sells[0].avg_price <= STOP
        assert "gap" not in log


async def test_stop_limit_when_partly_filled_then_gapped_then_watchdog_sells_only_the_rest(
    sqlite_url: str,
) -> None:
    async with rig_for({"SOL/USDT": ENTRY_PATH}, sqlite_url, venue="binance") as rig:
        pid = await _entered(rig)
        # A thin book: bids 0.5 % apart, about 30 USDT each, so only the two above 84.15 take part.
        thin = BookModel(level_step_bps=Decimal(50), level_notional=Decimal(30))
        rig.server.venue.exchange.book = thin
        rig.prices.extend("SOL/USDT", [(at(41), 70.0), (at(60), 70.0)])
        rig.step(25)
        (resting,) = rig.venue_stops()
        assert Decimal(0) < Decimal(resting["cumExecQty"]) < Decimal(resting["qty"])

        await rig.manage()
        await rig.manage()
        position = await rig.position(pid)
        orders = await rig.orders(pid)
        log = "\n".join(await journal(rig, pid))
        assert position.state is PositionState.CLOSED and position.exit_reason == ExitReason.STOP_LOSS.value
        sells = [o for o in orders if o.side.value == "sell" and o.filled_base > 0]
        assert [o.role for o in sells] == [OrderRole.STOP, OrderRole.EXIT], log
        stop, exit_order = sells
        assert stop.state is OrderState.CANCELED
        assert stop.filled_base + exit_order.filled_base == position.bought_qty - position.fee_base
        assert rig.venue_orders() == [] and rig.base_balance() == 0


async def test_stop_limit_gap_when_an_exit_is_unresolved_then_no_sell_until_it_is_settled(
    sqlite_url: str,
) -> None:
    async with rig_for({"SOL/USDT": ENTRY_PATH}, sqlite_url, venue="binance") as rig:
        pid = await _entered(rig)
        rig.server.venue.exchange.book = BookModel(spread_bps=Decimal(250))
        rig.prices.extend("SOL/USDT", [(at(41), 70.0), (at(60), 70.0)])
        rig.step(25)
        # As if the process died after journaling an exit sell and before its answer: its fate is unknown.
        position = await rig.position(pid)
        await rig.execution.orders.prepare(
            position, OrderRole.EXIT, Side.SELL, OrderType.MARKET, position.held_qty, submitted=True
        )

        await rig.manage()
        log = "\n".join(await journal(rig, pid))
        assert (await rig.position(pid)).state is PositionState.OPEN, log
        assert len(rig.venue_stops()) == 1, log  # the stop is left alone while a sell may be in flight
        assert not [o for o in rig.venue_orders(open_only=False) if o.get("orderType") == "Market"], log

        rig.step(2)  # past the receive window: the unknown exit is settled as never received
        await rig.manage()
        await rig.manage()
        orders = await rig.orders(pid)
        log = "\n".join(await journal(rig, pid))
        assert (await rig.position(pid)).state is PositionState.CLOSED, log
        exits = [o for o in orders if o.role is OrderRole.EXIT]
        assert [o.state for o in exits] == [OrderState.ABSENT, OrderState.FILLED], log
        assert rig.venue_orders() == [] and rig.base_balance() == 0
        assert [o["orderType"] for o in rig.venue_orders(open_only=False)].count("Market") == 1
