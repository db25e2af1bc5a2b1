"""The user's "close now" against the sandbox (Bybit v5 over HTTP, unmodified ccxt): the API only
records the request; the engine's next pass cancels the resting stop and sells the rest at market
through the order manager, so the exit is journaled like any other."""

from __future__ import annotations

import pytest

from qari.services import position_control
from qari.services.errors import ServiceError
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import ExitReason, PositionState

from .rig import at, journal, rig_for


async def test_close_now_when_requested_then_engine_cancels_stop_and_sells_all_at_market(
    sqlite_url: str,
) -> None:
    path = [(at(0), 101.0), (at(10), 101.0), (at(15), 99.5), (at(60), 103.0), (at(120), 103.0)]
    async with rig_for({"SOL/USDT": path}, sqlite_url) as rig:
        outcome = await rig.enter()
        assert outcome.position is not None and outcome.position.id is not None
        pid = outcome.position.id
        async with rig.sessions() as session:
            with pytest.raises(ServiceError) as pending:  # nothing bought yet: nothing to sell
                await position_control.request_close(session, rig.user_id, pid, rig.clock.now())
        assert pending.value.status == 409
        rig.step(20)  # Leg 1 fills; the stop rests on the venue
        await rig.manage()
        assert (await rig.position(pid)).state is PositionState.OPEN
        assert len(rig.venue_stops()) == 1

        async with rig.sessions() as session:
            with pytest.raises(ServiceError) as foreign:
                await position_control.request_close(session, rig.user_id + 1, pid, rig.clock.now())
            assert foreign.value.status == 404
            await position_control.request_close(session, rig.user_id, pid, rig.clock.now())
        assert (await rig.position(pid)).state is PositionState.OPEN  # the API sent nothing itself
        assert len(rig.venue_stops()) == 1

        rig.step(5)
        assert await rig.manage() == []
        position = await rig.position(pid)
        assert position.state is PositionState.CLOSED, await journal(rig, pid)
        assert position.exit_reason == ExitReason.MANUAL.value
        assert rig.venue_stops() == []
        assert rig.base_balance("SOL") < position.bought_qty / 100  # sold (dust at most)
        exits = [o for o in await rig.orders(pid) if o.role is OrderRole.EXIT]
        assert [o.state for o in exits] == [OrderState.FILLED]
        assert position.realised_r is not None and position.realised_r > 0  # sold near 103 > 100 entry
