"""Per-user execution: from a candidate to a protected trade, and the life of every open position.

How the engine (cycle, 30 s management loop, backtests) calls it — one independent unit of work per
user and venue; nothing here reads the wall clock or knows which venue it talks to:

    execution = UserExecution(exchange, store, locks, clock, ExecutionConfig(namespace="q"))
    await reconcile(execution, profile)                   # start-up and once per cycle
    outcome = await execution.enter(profile, candidate, layer_results=verdict_layers)  # per candidate
    await execution.manage(profile)                       # every 30 s (and right after an entry)

`exchange` is any `qari.ports.ExchangeClient` (ccxt live/sandbox, or the in-process simulator in
backtests), `clock` any `Clock` (WallClock live, ManualClock in tests and backtests), `store` a
`TradingStore`, `locks` an `EntryLock`. `signals` supplies the 15m CHoCH and higher-low detectors
(defaults: `qari.analysis`).

Where the work is: `entry.py` (gate → Leg 1), `management.py` (the 30 s pass: pending Leg 1,
targets, Leg 2, trailing), `protection.py` (stop, exits, close), and the position's own rules
(state, P&L, exit reason) in `qari.trading.position.Position`. This module holds the settings and
wires the parts for one user and venue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from qari.core.client_ids import STRICTEST, ClientIdRules
from qari.core.market import CandleSeries
from qari.core.orders import SpotStopKind
from qari.engine.entry import PositionEntry
from qari.engine.guard import OrderGuard
from qari.engine.management import PositionManagement
from qari.engine.orders import Checkpoint, OrderManager
from qari.ports import Clock, EntryLock, ExchangeClient, TradingStore
from qari.risk.stops import StopBand


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    leg1_ttl: dt.timedelta = dt.timedelta(hours=4)
    leg2_ttl: dt.timedelta = dt.timedelta(hours=24)
    fee_rate: Decimal = Decimal("0.001")
    namespace: str = "q"
    stop_band: StopBand = field(default_factory=StopBand)
    # Client-id rules by exchange id, from the venue data (the composition root passes them).
    client_ids: Mapping[str, ClientIdRules] = field(default_factory=dict)
    # Spot-stop kind by exchange id, from the venue data; a venue not listed rests a market trigger.
    spot_stops: Mapping[str, SpotStopKind] = field(default_factory=dict)
    # A STOP_LIMIT venue's limit offset below the trigger by exchange id, from the venue data: the
    # watchdog sells at market once the bid gaps below the limit (the triggered sell would sit unfilled).
    stop_limit_offsets: Mapping[str, Decimal] = field(default_factory=dict)

    def client_id_rules(self, exchange_id: str) -> ClientIdRules:
        return self.client_ids.get(exchange_id, STRICTEST)

    def spot_stop(self, exchange_id: str) -> SpotStopKind:
        return self.spot_stops.get(exchange_id, SpotStopKind.MARKET_TRIGGER)

    def stop_limit_offset(self, exchange_id: str) -> Decimal | None:
        """The stop-limit's offset below its trigger where the venue rests one, else None."""
        if self.spot_stop(exchange_id) is not SpotStopKind.STOP_LIMIT:
            return None
        return self.stop_limit_offsets.get(exchange_id)


def _default_choch(series: CandleSeries) -> bool:
    from qari.analysis.layers.structure import bullish_choch_15m

    return bool(bullish_choch_15m(series))


def _default_higher_low(series: CandleSeries) -> float | None:
    from qari.analysis.primitives.swings import latest_higher_low

    value = latest_higher_low(series)
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class StructureSignals:
    bullish_choch_15m: Callable[[CandleSeries], bool] = _default_choch
    latest_higher_low: Callable[[CandleSeries], float | None] = _default_higher_low


class UserExecution:
    """One user on one venue: `enter` (gate → Leg 1), `manage` (one pass over the open positions),
    `book_fills` (the journal's copy of the venue's executions)."""

    def __init__(
        self,
        exchange: ExchangeClient,
        store: TradingStore,
        locks: EntryLock,
        clock: Clock,
        config: ExecutionConfig | None = None,
        *,
        signals: StructureSignals | None = None,
        checkpoint: Checkpoint | None = None,
        guard: OrderGuard | None = None,
    ) -> None:
        self.exchange = exchange
        self.store = store
        self.locks = locks
        self.clock = clock
        self.config = config or ExecutionConfig()
        self.signals = signals or StructureSignals()
        self.orders = OrderManager(
            exchange,
            store,
            clock,
            namespace=self.config.namespace,
            checkpoint=checkpoint,
            client_ids=self.config.client_ids,
            guard=guard,
        )
        self.management = PositionManagement(exchange, store, clock, self.config, self.signals, self.orders)
        self.entry = PositionEntry(exchange, store, locks, clock, self.config, self.orders, self.management)
        self.enter = self.entry.enter
        self.manage = self.management.manage
        self.book_fills = self.management.protection.book_fills
