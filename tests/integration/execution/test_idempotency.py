"""Idempotent orders against the sandbox: timeouts and crashes never leave a duplicate order, and a
filled position ends up with exactly one stop resting on the venue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from qari.engine.reconciliation import reconcile
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import PositionState

from .rig import Rig, at, journal, rig_for

WORKER = Path(__file__).with_name("worker.py")
DIP = [(at(0), 101.0), (at(30), 101.0), (at(40), 99.5), (at(50), 101.0), (at(6000), 101.0)]


def _leg1_orders(rig: Rig) -> list[dict[str, object]]:
    return [o for o in rig.venue_orders(open_only=False) if o["side"] == "Buy"]


async def _fill_and_check_protected(rig: Rig, pid: int) -> None:
    rig.step(45 - (rig.clock.now() - rig.clock.now().replace(hour=12, minute=0)).total_seconds() / 60)
    await rig.manage()
    position = await rig.position(pid)
    assert position.state is PositionState.OPEN, "\n".join(await journal(rig, pid))
    stops = rig.venue_stops()
    assert len(stops) == 1
    assert Decimal(str(stops[0]["qty"])) > 0


async def test_order_create_when_answer_times_out_after_execution_then_resolved_by_lookup_not_resent(
    sqlite_url: str,
) -> None:
    async with rig_for({"SOL/USDT": DIP}, sqlite_url, timeout_ms=1000) as rig:
        rig.server.inject_fault("timeout", paths=["/v5/order/create"], after=True, delay_ms=2500)
        outcome = await rig.enter()
        assert outcome.position is not None and outcome.position.id is not None
        (leg1,) = await rig.orders(outcome.position.id)
        assert leg1.state is OrderState.OPEN  # found by its client order id
        assert "outcome unknown" in leg1.note
        assert len(_leg1_orders(rig)) == 1
        await _fill_and_check_protected(rig, outcome.position.id)
        assert len(_leg1_orders(rig)) == 1


async def test_order_create_when_request_lost_in_timeout_then_not_resent_inside_receive_window(
    sqlite_url: str,
) -> None:
    async with rig_for({"SOL/USDT": DIP}, sqlite_url, timeout_ms=1000) as rig:
        rig.server.inject_fault("timeout", paths=["/v5/order/create"], delay_ms=2500)  # the request is lost
        outcome = await rig.enter()
        assert outcome.position is not None and outcome.position.id is not None
        pid = outcome.position.id
        assert [o.state for o in await rig.orders(pid)] == [OrderState.UNKNOWN]
        rig.step(0.5)
        await rig.manage()
        assert [o.state for o in await rig.orders(pid)] == [OrderState.UNKNOWN]  # looked up, not resent
        assert _leg1_orders(rig) == []
        rig.step(2)
        await rig.manage()
        states = [o.state for o in await rig.orders(pid) if o.role is OrderRole.LEG1]
        assert states == [OrderState.ABSENT, OrderState.OPEN], "\n".join(await journal(rig, pid))
        assert len(_leg1_orders(rig)) == 1
        await _fill_and_check_protected(rig, pid)
        assert len(_leg1_orders(rig)) == 1


def _run_worker(rig: Rig, db_url: str, action: str, crash_at: str, crash_role: str) -> int:
    spec = {
        "db_url": db_url,
        "base_url": rig.server.base_url,
        "api_key": rig.key,
        "api_secret": rig.secret,
        "user_id": rig.user_id,
        "namespace": rig.namespace,
        "action": action,
        "now": rig.clock.now().isoformat(),
        "candidate": {
            "symbol": "SOL/USDT",
            "entry_low": "99.5",
            "entry_high": "100.5",
            "stop": "85",
            "pt1": "120",
            "pt2": "140",
        },
        "crash_at": crash_at,
        "crash_role": crash_role,
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[3] / "src"), *sys.path])}
    done = subprocess.run(
        [sys.executable, str(WORKER), json.dumps(spec)], env=env, capture_output=True, text=True, timeout=60
    )
    return done.returncode


@pytest.mark.parametrize("crash_at", [pytest.param("persisted", marks=pytest.mark.soak), "sent"])
async def test_process_killed_while_placing_leg1_when_restarted_then_one_order_and_protected(
    sqlite_url: str, crash_at: str
) -> None:
    async with rig_for({"SOL/USDT": DIP}, sqlite_url) as rig:
        assert _run_worker(rig, sqlite_url, "enter", crash_at, "leg1") == 9
        (position,) = await rig.store.open_positions(rig.user_id)
        assert position.id is not None
        expected_on_venue = 0 if crash_at == "persisted" else 1
        assert len(_leg1_orders(rig)) == expected_on_venue

        report = await reconcile(rig.new_execution(), rig.profile)  # the restart
        assert report.orders_checked == 1
        if crash_at == "persisted":
            # The entry journaled Leg 1 as SUBMITTED: to the lookup it may still be in flight, so it
            # is placed again (a new client id) only once the venue's receive window has passed.
            assert _leg1_orders(rig) == []
            rig.step(1.5)
            await rig.manage()
            states = [o.state for o in await rig.orders(position.id)]
            assert states == [OrderState.ABSENT, OrderState.OPEN], "\n".join(await journal(rig, position.id))
        assert len(_leg1_orders(rig)) == 1
        await _fill_and_check_protected(rig, position.id)
        assert len(_leg1_orders(rig)) == 1


@pytest.mark.parametrize("crash_at", ["persisted", pytest.param("sent", marks=pytest.mark.soak)])
async def test_process_killed_while_placing_stop_when_restarted_then_exactly_one_stop_rests(
    sqlite_url: str, crash_at: str
) -> None:
    async with rig_for({"SOL/USDT": DIP}, sqlite_url) as rig:
        outcome = await rig.enter()
        assert outcome.position is not None and outcome.position.id is not None
        rig.step(45)  # Leg 1 fills on the venue while...
        assert (
            _run_worker(rig, sqlite_url, "manage", crash_at, "stop") == 9
        )  # ...the process dies placing the stop
        assert len(rig.venue_stops()) == (0 if crash_at == "persisted" else 1)

        await reconcile(rig.new_execution(), rig.profile)
        position = await rig.position(outcome.position.id)
        assert position.state is PositionState.OPEN
        stops = rig.venue_stops()
        assert len(stops) == 1, "\n".join(await journal(rig, outcome.position.id))
        assert Decimal(str(stops[0]["triggerPrice"])) == Decimal(85)
        rig.step(1)
        await rig.manage()
        assert len(rig.venue_stops()) == 1
