"""The spot-stop kind is venue data (issue 15): on a venue that cannot rest a spot stop the engine hands
the stop to its watchdog without sending one, instead of reading a refusal's note."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.unit.engine.records import AdmitAll, position_record

from qari.adapters.exchanges.capabilities import VENUES
from qari.adapters.persistence.memory import MemoryEntryLock, MemoryTradingStore
from qari.adapters.simulator.client import SimulatedExchangeClient
from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.prices import CandleReplay
from qari.core.clocks import ManualClock
from qari.core.orders import OrderType, Side, SpotStopKind
from qari.core.time import from_ms
from qari.engine.execution import ExecutionConfig, StructureSignals, UserExecution
from qari.engine.kernel import venue_execution_config
from qari.risk.profile import TradingProfile
from qari.trading.order import OrderRole
from qari.trading.position import PositionState

T0 = 1_704_067_200_000
STEP = 300_000


async def _filled_position(
    tmp_path: Path, config: ExecutionConfig
) -> tuple[UserExecution, SimulatedExchange]:
    """Leg 1 at 100 fills on the dip to 98; the venue is the in-process simulator (it would take a stop)."""
    rows = [[T0 + i * STEP, 101.0, 101.0, 101.0, 101.0, 1000.0] for i in range(2)]
    rows += [[T0 + (2 + i) * STEP, 101.0, 101.0, 98.0, 99.0, 1000.0] for i in range(20)]
    (tmp_path / "SOL_USDT-5m.json").write_text(json.dumps(rows))
    venue = SimulatedExchange(CandleReplay.from_dir(tmp_path), start_ms=T0)
    venue.open_account("a", {"USDT": Decimal(10_000)})
    clock = ManualClock(from_ms(T0))
    execution = UserExecution(
        SimulatedExchangeClient(venue, "a"),  # type: ignore[arg-type]
        MemoryTradingStore(),
        MemoryEntryLock(),
        clock,
        config,
        signals=StructureSignals(lambda _series: False, lambda _series: None),
        guard=AdmitAll(),  # a venue with no market history: the guard's floor is not under test
    )
    position = position_record("SOL/USDT", PositionState.PENDING, clock.now())
    position.exchange_id = "mexc"
    await execution.store.add_position(position)
    await execution.orders.place(
        position, OrderRole.LEG1, Side.BUY, OrderType.LIMIT, Decimal(1), price=Decimal(100)
    )
    venue.advance_to(T0 + 4 * STEP)
    clock.set(from_ms(T0 + 4 * STEP))
    return execution, venue


async def test_manage_when_venue_has_no_spot_stops_then_watchdog_and_no_stop_sent(tmp_path: Path) -> None:
    # Arrange: a MEXC position (no spot stops in the venue data), its Leg 1 filled
    config = venue_execution_config()
    assert config.spot_stop("mexc") is SpotStopKind.NONE
    execution, venue = await _filled_position(tmp_path, config)

    # Act
    await execution.manage(TradingProfile(user_id=1, exchange_id="mexc"))

    # Assert: no stop order was sent; the watchdog owns the stop, and the event log says so
    store = execution.store
    assert isinstance(store, MemoryTradingStore)
    (position,) = await store.open_positions(1, "mexc")
    assert position.stop_mode == "watchdog"
    assert [o for o in venue.orders("a", active=True) if o.trigger_price is not None] == []
    assert [kind for _, kind, _, _ in store.events if kind.startswith("stop_")] == ["stop_watchdog"]


def test_spot_stop_kinds_when_read_from_venue_data_then_htx_stop_limit_mexc_none() -> None:
    assert (
        VENUES["htx"].spot_stop is SpotStopKind.STOP_LIMIT and VENUES["mexc"].spot_stop is SpotStopKind.NONE
    )
    assert VENUES["binance"].spot_stop is VENUES["gate"].spot_stop is SpotStopKind.STOP_LIMIT
    assert {VENUES[v].spot_stop for v in ("bybit", "okx", "kucoin", "bitget")} == {
        SpotStopKind.MARKET_TRIGGER
    }


def test_stop_limit_offset_when_read_through_the_engine_config_then_only_stop_limit_venues_have_one() -> None:
    config = venue_execution_config()
    assert {v: config.stop_limit_offset(v) for v in ("binance", "gate", "htx")} == dict.fromkeys(
        ("binance", "gate", "htx"), Decimal("0.01")
    )
    assert config.stop_limit_offset("bybit") is None and config.stop_limit_offset("mexc") is None
