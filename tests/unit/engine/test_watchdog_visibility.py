"""A venue that cannot rest a spot stop (MEXC: `capabilities.MEXC.spot_stop` is `SpotStopKind.NONE`):
the position is guarded by QARI's server-side watchdog, and the event log says so in those words.

The engine reads the venue's kind from its execution config, built from the venue data as the kernel
builds it (`kernel.venue_execution_config`): it never sends a stop to such a venue (the client below
would refuse it as QARI's MEXC client does)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.unit.engine.records import AdmitAll, position_record

from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient
from qari.adapters.persistence.memory import MemoryEntryLock, MemoryTradingStore
from qari.adapters.simulator.client import SimulatedExchangeClient
from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.prices import CandleReplay
from qari.core.clocks import ManualClock
from qari.core.orders import OrderReport, OrderRequest, OrderType, Side
from qari.core.time import from_ms
from qari.engine.execution import StructureSignals, UserExecution
from qari.engine.kernel import venue_execution_config
from qari.engine.reconciliation import reconcile
from qari.risk.profile import TradingProfile
from qari.services.reports import position_view
from qari.trading.order import OrderRole
from qari.trading.position import PositionState

T0 = 1_704_067_200_000
STEP = 300_000


class NoSpotStops:
    """The simulator, refusing spot stops exactly as QARI's ccxt client does for MEXC."""

    def __init__(self, inner: SimulatedExchangeClient) -> None:
        self.inner = inner
        self.exchange_id = inner.exchange_id
        self.mexc = CcxtExchangeClient("mexc")

    async def create_order(self, request: OrderRequest) -> OrderReport:
        if request.type is OrderType.STOP_MARKET:
            self.mexc.order_arguments(request)  # raises: MEXC has no spot stop orders
        return await self.inner.create_order(request)

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method: Callable[..., Awaitable[Any]] = getattr(self.inner, name)
        return method


async def test_venue_without_spot_stops_when_protecting_then_watchdog_named_in_event_and_view(
    tmp_path: Path,
) -> None:
    rows = [[T0 + i * STEP, 101.0, 101.0, 101.0, 101.0, 1000.0] for i in range(2)]
    rows += [[T0 + (2 + i) * STEP, 101.0, 101.0, 98.0, 99.0, 1000.0] for i in range(20)]
    (tmp_path / "SOL_USDT-5m.json").write_text(json.dumps(rows))
    venue = SimulatedExchange(CandleReplay.from_dir(tmp_path), start_ms=T0)
    venue.open_account("a", {"USDT": Decimal(10_000)})
    client = NoSpotStops(SimulatedExchangeClient(venue, "a"))
    store = MemoryTradingStore()
    clock = ManualClock(from_ms(T0))
    no_signal = StructureSignals(lambda _series: False, lambda _series: None)
    execution = UserExecution(
        client,  # type: ignore[arg-type]
        store,
        MemoryEntryLock(),
        clock,
        dataclasses.replace(venue_execution_config(), namespace="q"),
        signals=no_signal,
        guard=AdmitAll(),  # a venue with no market history: the guard's floor is not under test
    )
    record = position_record("SOL/USDT", PositionState.PENDING, clock.now())
    record.exchange_id = "mexc"
    position = await store.add_position(record)
    assert position.id is not None
    await execution.orders.place(
        position, OrderRole.LEG1, Side.BUY, OrderType.LIMIT, Decimal(1), price=Decimal(100)
    )
    venue.advance_to(T0 + 4 * STEP)
    clock.set(from_ms(T0 + 4 * STEP))

    await reconcile(execution, TradingProfile(user_id=1, exchange_id="mexc"))

    after = await store.get_position(position.id)
    assert after is not None and after.stop_mode == "watchdog"
    assert not [o for o in venue.orders("a", active=True) if o.trigger_price is not None]
    events = [(kind, message) for pid, kind, message, _at in store.events if pid == position.id]
    watchdog = [message for kind, message in events if kind == "stop_watchdog"]
    assert len(watchdog) == 1 and "protected by QARI's watchdog" in watchdog[0]
    assert "90" in watchdog[0]  # the stop it guards
    assert position_view(after)["stop_protection"] == "protected by QARI's watchdog"
