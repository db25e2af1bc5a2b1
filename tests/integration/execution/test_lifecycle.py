"""Full position lifecycles against the sandbox (Bybit v5 over HTTP, unmodified ccxt), driven by the
sandbox's market clock: the stop rests on the venue after every fill and every partial exit."""

from __future__ import annotations

from decimal import Decimal

from qari.trading.order import OrderRole, OrderState
from qari.trading.position import ExitReason, Leg2State, PositionState

from .rig import Rig, at, journal, rig_for


def _assert_protected(rig: Rig, held: Decimal, stop: Decimal) -> None:
    stops = rig.venue_stops()
    assert len(stops) == 1, stops
    assert Decimal(stops[0]["triggerPrice"]) == stop
    assert Decimal(stops[0]["qty"]) <= held
    assert Decimal(stops[0]["qty"]) > held * Decimal("0.99")


async def test_lifecycle_when_targets_reached_then_leg2_pt1_break_even_pt2_and_trailing_exit(
    sqlite_url: str,
) -> None:
    path = [(at(0), 101.0), (at(10), 101.0), (at(15), 99.5), (at(30), 101.0)]
    async with rig_for({"SOL/USDT": path}, sqlite_url) as rig:
        outcome = await rig.enter()
        assert outcome.decision.passed, outcome.decision.headline
        assert outcome.position is not None and outcome.position.id is not None
        pid = outcome.position.id
        assert len(rig.venue_orders()) == 1  # Leg 1 resting, nothing filled, no stop needed yet
        assert (await rig.position(pid)).state is PositionState.PENDING

        rig.step(20)  # price dipped through 100: Leg 1 fills
        await rig.manage()
        position = await rig.position(pid)
        assert position.state is PositionState.OPEN
        assert position.bought_qty > 0
        _assert_protected(rig, position.held_qty, Decimal("85"))

        rig.prices.extend("SOL/USDT", [(at(60), 105.0), (at(120), 105.0)])
        rig.step(40)
        rig.choch = True  # 15m CHoCH confirmed
        await rig.manage()
        position = await rig.position(pid)
        assert position.leg2_state is Leg2State.FILLED
        assert position.blended_entry is not None and Decimal(100) < position.blended_entry < Decimal(105)
        _assert_protected(rig, position.held_qty, Decimal("85"))
        risk = position.cost_quote - Decimal(85) * position.bought_qty
        assert risk <= position.planned_r_quote  # Leg 2 never lifts the risk above the planned 1R

        rig.prices.extend("SOL/USDT", [(at(150), 121.0), (at(200), 121.0)])
        rig.step(100)
        await rig.manage()
        position = await rig.position(pid)
        assert position.state is PositionState.PT1_TAKEN, "\n".join(await journal(rig, pid))
        assert position.stop_price >= position.blended_entry  # break-even (fees included)
        _assert_protected(rig, position.held_qty, position.stop_price)

        rig.prices.extend("SOL/USDT", [(at(230), 141.0), (at(300), 141.0)])
        rig.step(80)
        rig.higher_low = 130.0
        await rig.manage()
        position = await rig.position(pid)
        assert position.state is PositionState.PT2_TAKEN, "\n".join(await journal(rig, pid))
        assert position.stop_price == Decimal("129.999")
        _assert_protected(rig, position.held_qty, Decimal("129.999"))

        rig.prices.extend("SOL/USDT", [(at(320), 128.0), (at(400), 128.0)])
        rig.step(100)  # the resting stop triggers on the venue
        await rig.manage()
        position = await rig.position(pid)
        assert position.state is PositionState.CLOSED, "\n".join(await journal(rig, pid))
        assert position.exit_reason == ExitReason.TRAILING_STOP.value
        assert position.realised_r is not None and position.realised_r > 0
        assert rig.venue_orders() == []
        roles = [o.role for o in await rig.orders(pid) if o.state is OrderState.FILLED]
        assert {OrderRole.LEG1, OrderRole.LEG2, OrderRole.PT1, OrderRole.PT2, OrderRole.STOP} <= set(roles)


async def test_lifecycle_when_leg1_never_fills_then_expires_and_releases_leg2(sqlite_url: str) -> None:
    async with rig_for({"SOL/USDT": [(at(0), 103.0), (at(600), 103.0)]}, sqlite_url) as rig:
        outcome = await rig.enter()
        assert outcome.position is not None and outcome.position.id is not None
        rig.step(3 * 60)
        await rig.manage()
        assert (await rig.position(outcome.position.id)).state is PositionState.PENDING
        rig.step(61)
        assert await rig.manage() == []
        position = await rig.position(outcome.position.id)
        assert position.state is PositionState.EXPIRED
        assert position.leg2_state is Leg2State.RELEASED
        assert rig.venue_orders() == []
        assert rig.base_balance("USDT") == Decimal(1000)
