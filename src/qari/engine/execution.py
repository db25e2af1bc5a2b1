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

Invariants kept by `manage`: any filled quantity has a stop resting on the venue (or, where the venue
has no spot stops, a server-side watchdog, flagged `stop_mode="watchdog"`); exits never ask for more
than the account holds; the kill switch never touches open positions' protection.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from qari.core.client_ids import STRICTEST, ClientIdRules
from qari.core.errors import RetryableError
from qari.core.instrument import InstrumentRules
from qari.core.market import CandleSeries
from qari.core.orders import OrderType, Side, SpotStopKind
from qari.core.time import from_ms, to_ms
from qari.decisions import gate_inputs
from qari.engine.gate_facts import (
    JournalFacts,
    closed_candles,
    gather_gate_context,
    kill_switch_for,
    rounded_levels,
)
from qari.engine.guard import OrderGuard
from qari.engine.orders import Checkpoint, OrderManager
from qari.ports import AlertSink, Clock, EntryLock, ExchangeClient, TradingStore
from qari.risk.candidate import TradeCandidate
from qari.risk.gate import GateDecision, evaluate_gate
from qari.risk.kill_switch import RealisedR, RLimits, day_window, evaluate_kill_switch
from qari.risk.profile import TradingProfile
from qari.risk.stops import StopBand
from qari.trading.exits import (
    PT1_SHARE,
    PT2_SHARE,
    break_even_stop,
    is_placeable,
    leg2_allowed,
    leg2_blend_refusal,
    leg2_qty_within_risk,
    realised_r,
    sellable_qty,
    target_exit_qty,
    trailed_stop,
)
from qari.trading.order import LIVE, TERMINAL, UNRESOLVED, OrderRole, OrderState
from qari.trading.position import (
    LEG2_TRANSITIONS,
    POSITION_TRANSITIONS,
    ExitReason,
    Leg2Event,
    Leg2State,
    PositionEvent,
    PositionState,
    exit_reason_for_stop,
)
from qari.trading.records import FillRecord, GateRecord, OrderRecord, PositionRecord

ZERO = Decimal(0)
PRICE_PLACES = Decimal("0.00000001")  # an average exit price: 8 places, as the backtest reports it
BUY_ROLES = frozenset({OrderRole.LEG1, OrderRole.LEG2})
SELL_ROLES = frozenset({OrderRole.STOP, OrderRole.PT1, OrderRole.PT2, OrderRole.EXIT})


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


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    decision: GateDecision
    gate_evaluation_id: int
    position: PositionRecord | None


@dataclass(slots=True)
class _Pass:
    """What one management pass knows about the market for a position."""

    rules: InstrumentRules
    bid: Decimal
    ask: Decimal
    base_total: Decimal | None = None
    balance_for_held: Decimal | None = None  # the held quantity the balance was read for
    series_15m: CandleSeries | None = None


class UserExecution:
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
        self._markets: Mapping[str, InstrumentRules] | None = None

    # ---------------------------------------------------------------- entry

    async def enter(
        self,
        profile: TradingProfile,
        candidate: TradeCandidate,
        *,
        layer_results: Sequence[Mapping[str, Any]] = (),
        markets: Mapping[str, InstrumentRules] | None = None,
        daily_closes: Mapping[str, tuple[float, ...]] | None = None,
        journal: JournalFacts | None = None,
        analysis_at: dt.datetime | None = None,
        scoring: Mapping[str, Any] | None = None,
    ) -> EntryOutcome:
        """Gate the candidate under the user+symbol lock and, if it passes, place Leg 1. `journal`: the
        journal's facts as read for the unit (see `gate_facts.JournalFacts`), else read here;
        `scoring`: a Premium user's personal scoring, recorded with the gate's inputs."""
        now = self.clock.now()
        self.orders.guard.know(profile)
        if markets is not None:
            self._markets = markets
        async with self.locks.hold(profile.user_id, candidate.symbol) as locked:
            ctx, sizing = await gather_gate_context(
                exchange=self.exchange,
                store=self.store,
                profile=profile,
                candidate=candidate,
                now=now,
                lock_acquired=locked,
                fee_rate=self.config.fee_rate,
                markets=markets,
                daily_closes=daily_closes,
                journal=journal,
            )
            decision = evaluate_gate(ctx)
            blocking = decision.blocking
            record = GateRecord(
                user_id=profile.user_id,
                exchange_id=profile.exchange_id,
                symbol=candidate.symbol,
                passed=decision.passed,
                blocking_code=None if blocking is None else blocking.code,
                reason=decision.headline,
                results=[
                    {"code": r.code, "name": r.name, "passed": r.passed, "reason": r.reason}
                    for r in decision.results
                ],
                candidate=_candidate_dict(candidate, ctx.entry_price),
                at=now,
                inputs=gate_inputs(ctx, analysis_at, scoring),
            )
            if not decision.passed or sizing is None or ctx.instrument is None:
                return EntryOutcome(decision, await self.store.record_gate(record), None)
            # The gate's record, the position, Leg 1's intent and the position's first event commit
            # together; the order is sent only after that commit (ARCHITECTURE rule 6), which journals
            # it as SUBMITTED: nothing else is written before the send, so no second commit is needed.
            async with self.store.batch():
                gate_id = await self.store.record_gate(record)
                entry, stop, pt1, pt2 = rounded_levels(candidate, ctx.instrument)
                position = PositionRecord(
                    user_id=profile.user_id,
                    exchange_id=profile.exchange_id,
                    symbol=candidate.symbol,
                    base=ctx.instrument.base,
                    state=PositionState.PENDING,
                    entry_price=entry,
                    structural_stop=stop,
                    stop_price=stop,
                    pt1=pt1,
                    pt2=pt2,
                    leg1_qty=sizing.leg1_qty,
                    leg2_qty=sizing.leg2_qty,
                    planned_r_quote=sizing.risk_quote,
                    fee_rate=self.config.fee_rate,
                    leg1_expires_at=now + self.config.leg1_ttl,
                    leg2_expires_at=now + self.config.leg2_ttl,
                    opened_at=now,
                    explanation=candidate.explanation,
                    layer_results=[dict(r) for r in layer_results],
                    gate_evaluation_id=gate_id,
                )
                leg1 = await self.orders.prepare(  # journals the new position too
                    position,
                    OrderRole.LEG1,
                    Side.BUY,
                    OrderType.LIMIT,
                    sizing.leg1_qty,
                    price=entry,
                    submitted=True,
                )
                await self.store.record_event(position, "gate_passed", decision.headline, now)
            text = f"Leg 1 limit buy {sizing.leg1_qty} at {entry}; Leg 2 reserved"

            async def placed() -> None:  # committed with Leg 1's answer from the venue
                await self.store.record_event(position, "leg1_placed", text, now)

            await self.orders.submit(leg1, then=placed)
        # Bybit's create answer carries no status, so a Leg 1 that crossed at once is found only by
        # reading the venue: one pass now puts its stop on it. Leg 1 is all the new position's orders.
        await self._manage_one(position, [leg1])
        return EntryOutcome(decision, gate_id, position)

    async def book_fills(self, position: PositionRecord) -> int:
        """Copy the venue's executions for this position's orders into the journal (idempotent)."""
        assert position.id is not None
        orders = await self.store.orders_for(position.id)
        filled = [o for o in orders if o.filled_base > 0]
        if not filled or await self._fills_booked(position.id, filled):
            return 0
        by_exchange_id = {o.exchange_order_id: o for o in orders if o.exchange_order_id}
        by_client_id = {o.client_order_id: o for o in orders}
        records = []
        for fill in await self.exchange.fetch_fills(position.symbol, to_ms(position.opened_at) - 60_000):
            order = by_exchange_id.get(fill.exchange_order_id) or by_client_id.get(fill.client_order_id or "")
            if order is None or order.id is None:
                continue
            records.append(
                FillRecord(
                    position_id=position.id,
                    order_id=order.id,
                    user_id=position.user_id,
                    symbol=position.symbol,
                    trade_id=fill.trade_id,
                    side=fill.side,
                    price=fill.price,
                    qty_base=fill.qty_base,
                    fee=fill.fee,
                    fee_currency=fill.fee_currency,
                    at=from_ms(fill.ts_ms),
                )
            )
        return await self.store.add_fills(records)

    async def _fills_booked(self, position_id: int, filled: list[OrderRecord]) -> bool:
        """Whether the journal's fills add up to every order's filled quantity: then the venue has no
        execution of them left to copy (a journal read instead of a venue read)."""
        booked: dict[int, Decimal] = {}
        for fill in await self.store.fills_for(position_id):
            booked[fill.order_id] = booked.get(fill.order_id, ZERO) + fill.qty_base
        return all(o.id is not None and booked.get(o.id) == o.filled_base for o in filled)

    # ---------------------------------------------------------------- management

    async def manage(
        self, profile: TradingProfile, positions: list[PositionRecord] | None = None
    ) -> list[PositionRecord]:
        """One management pass over the user's open positions on this venue; returns them afterwards.
        `positions`: those open positions as the caller just read them from the journal (else read)."""
        self.orders.guard.know(profile)
        await self._kill_switch_cleared(profile)
        if positions is None:
            positions = await self.store.open_positions(profile.user_id, profile.exchange_id)
        for position in positions:
            try:
                await self._manage_one(position)
            except RetryableError as e:
                await self.store.record_event(
                    position, "manage_deferred", f"venue unavailable: {e}", self.clock.now()
                )
        return positions

    async def _kill_switch_cleared(self, profile: TradingProfile) -> None:
        """Tell the user once when a halt from the previous day or week has lifted."""
        alerts = self.store if isinstance(self.store, AlertSink) else None
        if alerts is None:
            return
        now = self.clock.now()
        today = day_window(now)[0]
        limits = RLimits.for_user(profile.daily_loss_limit_r, profile.weekly_loss_limit_r)
        entries = await self.store.r_entries(profile.user_id, today - dt.timedelta(days=8))
        before = evaluate_kill_switch(entries, today - dt.timedelta(microseconds=1), limits)
        if before.halted_until is None or before.halted_until > now or not before.halted:
            return  # no halt from before today that has run out: nothing to tell
        if not evaluate_kill_switch(entries, now, limits).halted:
            await alerts.alert(
                profile.user_id,
                "kill_switch_cleared",
                {"reason": f"new entries allowed again since {before.halted_until:%Y-%m-%d %H:%M} UTC"},
                now,
                dedupe_key=f"kill_switch_cleared:{before.halted_until.isoformat()}",
            )

    async def _market(self, position: PositionRecord) -> _Pass:
        if self._markets is None or position.symbol not in self._markets:
            self._markets = await self.exchange.load_markets()
        rules = self._markets[position.symbol]
        ticker = await self.exchange.fetch_ticker(position.symbol)
        bid = ticker.bid or ticker.last
        ask = ticker.ask or ticker.last
        return _Pass(rules, bid, ask)

    async def _sellable(self, position: PositionRecord, market: _Pass) -> Decimal:
        """The held quantity an exit may sell, capped by the account's base balance (read once per
        change of the held quantity)."""
        if position.held_qty <= 0:
            return ZERO
        if market.balance_for_held != position.held_qty:
            balances = await self.exchange.fetch_balances()
            base = balances.get(position.base)
            market.base_total = ZERO if base is None else base.total
            market.balance_for_held = position.held_qty
        return sellable_qty(position.held_qty, market.base_total, market.rules)

    async def _series(self, market: _Pass, symbol: str) -> CandleSeries:
        if market.series_15m is None:
            market.series_15m = await closed_candles(self.exchange, symbol, "15m", self.clock.now(), 120)
        return market.series_15m

    async def _manage_one(self, position: PositionRecord, known: list[OrderRecord] | None = None) -> None:
        """`known`: the position's every order as journaled (else read from the journal)."""
        orders = await self._sync_orders(position, known)
        synced = self.orders.changes  # orders re-read below only after this pass changed one
        if not position.is_open:
            return
        market = await self._market(position)
        if any(o.state in UNRESOLVED for o in orders):
            # An order's outcome is unknown: nothing new is sent until the lookup settles it. The
            # server-side watchdog still guards the stop meanwhile.
            if position.state is not PositionState.PENDING:
                await self._stop_fired(position, orders, market, watchdog_only=True)
            return
        if position.state is PositionState.PENDING:
            await self._pending(position, orders, market)
            if position.state is PositionState.PENDING or not position.is_open:
                return
        if await self._stop_fired(position, orders, market):
            return
        if position.close_requested_at is not None:
            await self._close_now(position, orders, market)
            return
        await self._leg1_expiry(position, orders)
        await self._targets(position, orders, market)
        if position.is_open:
            await self._leg2(position, orders, market)
            await self._trail(position, market)
            if self.orders.changes != synced:
                orders, synced = await self._sync_orders(position), self.orders.changes
            await self._protect(position, orders, market)
            if self.orders.changes != synced:
                orders = await self._sync_orders(position)
            await self._close_if_done(position, orders, market, None)

    async def _sync_orders(
        self, position: PositionRecord, known: list[OrderRecord] | None = None
    ) -> list[OrderRecord]:
        """Refresh every unsettled order from the venue and recompute the position's quantities."""
        assert position.id is not None
        orders = known if known is not None else await self.store.orders_for(position.id)
        await self.orders.refresh_all(orders)
        before = (position.bought_qty, position.sold_qty)
        _recompute(position, orders)
        if (position.bought_qty, position.sold_qty) != before:
            await self.store.save_position(position)
        return orders

    async def _event(
        self, position: PositionRecord, kind: str, message: str, alert: dict[str, str] | None = None
    ) -> None:
        await self.store.record_event(position, kind, message, self.clock.now(), alert=alert)

    def _move(self, position: PositionRecord, event: PositionEvent) -> None:
        position.state = POSITION_TRANSITIONS.next(position.state, event)

    # -- Leg 1

    async def _pending(self, position: PositionRecord, orders: list[OrderRecord], market: _Pass) -> None:
        leg1 = _latest(orders, OrderRole.LEG1)
        now = self.clock.now()
        if position.bought_qty > 0:
            await self._entered(position, PositionEvent.LEG1_FILLED)
            return
        if now >= position.leg1_expires_at:
            if leg1 is not None and leg1.state in LIVE:
                await self.orders.cancel(leg1)
                orders = await self._sync_orders(position)
                if position.bought_qty > 0:
                    await self._entered(position, PositionEvent.LEG1_FILLED)
                    return
            self._move(position, PositionEvent.LEG1_EXPIRED)
            position.leg2_state = Leg2State.RELEASED
            position.exit_reason = ExitReason.LEG1_EXPIRED.value
            position.closed_at = now
            await self.store.save_position(position)
            await self._event(position, "leg1_expired", "Leg 1 expired unfilled; Leg 2 reservation released")
            return
        if leg1 is None or leg1.state is OrderState.ABSENT:
            # The venue confirmed it never received the order: place it (a new client id), once per pass.
            await self.orders.place(
                position,
                OrderRole.LEG1,
                Side.BUY,
                OrderType.LIMIT,
                position.leg1_qty,
                price=position.entry_price,
            )
        elif leg1.state is OrderState.REJECTED or (
            leg1.state is OrderState.CANCELED and leg1.filled_base == 0
        ):
            self._move(position, PositionEvent.ENTRY_REJECTED)
            position.leg2_state = Leg2State.RELEASED
            position.exit_reason = ExitReason.ENTRY_REJECTED.value
            position.closed_at = now
            await self.store.save_position(position)
            await self._event(position, "entry_rejected", f"Leg 1 was refused by the venue: {leg1.note}")

    async def _entered(self, position: PositionRecord, event: PositionEvent) -> None:
        self._move(position, event)
        await self.store.save_position(position)
        await self._event(
            position,
            "entry_leg1",
            f"Leg 1 filled {position.bought_qty} at {position.blended_entry}",
            {
                "symbol": position.symbol,
                "size": str(position.bought_qty),
                "price": str(position.blended_entry),
                "stop": str(position.stop_price),
                "target": str(position.pt1),
            },
        )

    async def _leg1_expiry(self, position: PositionRecord, orders: list[OrderRecord]) -> None:
        leg1 = _latest(orders, OrderRole.LEG1)
        if leg1 is not None and leg1.state in LIVE and self.clock.now() >= position.leg1_expires_at:
            await self.orders.cancel(leg1)
            await self._event(
                position, "leg1_remainder_canceled", "Leg 1 expired; its unfilled remainder is canceled"
            )

    # -- Stop hit

    async def _stop_fired(
        self,
        position: PositionRecord,
        orders: list[OrderRecord],
        market: _Pass,
        *,
        watchdog_only: bool = False,
    ) -> bool:
        stop_hit = any(o.role is OrderRole.STOP and o.filled_base > 0 for o in orders)
        watchdog = market.bid <= position.stop_price and not any(
            o.role is OrderRole.STOP and o.state in LIVE | {OrderState.FILLED} for o in orders
        )
        gapped = self._gapped_stops(position, orders, market)
        if watchdog_only:
            stop_hit = False
            unresolved_sell = any(o.side is Side.SELL and o.state in UNRESOLVED for o in orders)
            watchdog = watchdog and not unresolved_sell
            gapped = [] if unresolved_sell else gapped
        if gapped:
            # The venue's stop-limit triggered but its limit sits above a gapped market: take it off
            # first, so its base is free and it cannot fill beside the market sell below.
            for order in gapped:
                await self.orders.cancel(order)
            orders = await self._sync_orders(position)
            if any(o.role is OrderRole.STOP and o.state not in TERMINAL for o in orders):
                return True  # the cancel is not confirmed yet: never sell beside a live stop
            stop_hit = True
        if not stop_hit and not watchdog:
            return False
        for order in orders:
            if order.side is Side.BUY and order.state in LIVE:
                await self.orders.cancel(order)
        if position.leg2_state in (Leg2State.RESERVED, Leg2State.SENT):
            position.leg2_state = Leg2State.RELEASED
        orders = await self._sync_orders(position)
        rest = await self._sellable(position, market)
        if is_placeable(rest, market.bid, market.rules):
            await self.orders.place(position, OrderRole.EXIT, Side.SELL, OrderType.MARKET, rest)
            orders = await self._sync_orders(position)
            if gapped:
                await self._event(
                    position,
                    "stop_gapped",
                    f"the stop-limit was passed by a gap: QARI's watchdog sold {rest:f} at market "
                    f"(bid {market.bid:f}, below the stop's limit)",
                )
        # Closed only once nothing sellable is left; a failed exit is retried next pass.
        await self._close_if_done(position, orders, market, exit_reason_for_stop(position.state))
        return True

    def _gapped_stops(
        self, position: PositionRecord, orders: list[OrderRecord], market: _Pass
    ) -> list[OrderRecord]:
        """Live stop-limits the bid has gapped below: limit = trigger x (1 - the venue's offset)."""
        offset = self.config.stop_limit_offset(position.exchange_id)
        if offset is None:
            return []
        return [
            o
            for o in orders
            if o.role is OrderRole.STOP
            and o.state in LIVE
            and o.trigger_price is not None
            and market.bid < o.trigger_price * (1 - offset)
        ]

    async def _close_now(self, position: PositionRecord, orders: list[OrderRecord], market: _Pass) -> None:
        """The user's "close now": like a stop exit, resting buys and the stop are cancelled and the
        rest is sold at market through the order manager; closed once nothing sellable is left (a
        failed exit is retried next pass, the request stays until then)."""
        for order in orders:
            if order.state in LIVE and (order.side is Side.BUY or order.role is OrderRole.STOP):
                await self.orders.cancel(order)
        if position.leg2_state in (Leg2State.RESERVED, Leg2State.SENT):
            position.leg2_state = Leg2State.RELEASED
        orders = await self._sync_orders(position)
        if any(o.role is OrderRole.STOP and o.filled_base > 0 for o in orders):
            return  # the stop fired while being cancelled: the next pass closes it as a stop-out
        if not any(o.side is Side.SELL and o.state in LIVE for o in orders):
            rest = await self._sellable(position, market)
            if is_placeable(rest, market.bid, market.rules):
                await self.orders.place(position, OrderRole.EXIT, Side.SELL, OrderType.MARKET, rest)
                orders = await self._sync_orders(position)
        await self._close_if_done(position, orders, market, ExitReason.MANUAL)

    # -- Targets

    async def _targets(self, position: PositionRecord, orders: list[OrderRecord], market: _Pass) -> None:
        price = market.bid
        if position.state is PositionState.OPEN and price >= position.pt1:
            await self._take_profit(position, orders, market, OrderRole.PT1, PT1_SHARE)
        elif position.state is PositionState.PT1_TAKEN and price >= position.pt2:
            await self._take_profit(position, orders, market, OrderRole.PT2, PT2_SHARE)

    async def _take_profit(
        self,
        position: PositionRecord,
        orders: list[OrderRecord],
        market: _Pass,
        role: OrderRole,
        share: Decimal,
    ) -> None:
        if role is OrderRole.PT1:
            for order in orders:
                if order.side is Side.BUY and order.state in LIVE:
                    await self.orders.cancel(order)
            if position.leg2_state in (Leg2State.RESERVED, Leg2State.SENT):
                position.leg2_state = Leg2State.RELEASED
        for order in orders:
            if order.role is OrderRole.STOP and order.state in LIVE:
                await self.orders.cancel(order)
        orders = await self._sync_orders(position)
        if any(o.role is OrderRole.STOP and o.filled_base > 0 for o in orders):
            return  # the stop fired while we were cancelling it: the next pass closes the position
        if role is OrderRole.PT1:
            position.entered_qty_at_pt1 = position.bought_qty - position.fee_base
        entered = position.entered_qty_at_pt1 or position.held_qty
        sellable = await self._sellable(position, market)
        qty = target_exit_qty(share, entered, sellable, market.bid, market.rules)
        if qty <= 0:
            return
        placed = await self.orders.place(position, role, Side.SELL, OrderType.MARKET, qty)
        synced = await self._sync_orders(position)
        order = next((o for o in synced if o.client_order_id == placed.client_order_id), placed)
        if order.filled_base <= 0:
            return
        if role is OrderRole.PT1:
            self._move(position, PositionEvent.PT1_HIT)
            assert position.blended_entry is not None
            position.stop_price = max(
                position.stop_price, break_even_stop(position.blended_entry, position.fee_rate, market.rules)
            )
            kind, text = (
                "pt1",
                f"PT1: sold {order.filled_base} at {order.avg_price}; "
                f"stop to break-even {position.stop_price}",
            )
        else:
            self._move(position, PositionEvent.PT2_HIT)
            kind, text = "pt2", f"PT2: sold {order.filled_base} at {order.avg_price}; trailing the rest"
        await self.store.save_position(position)
        await self._event(
            position,
            kind,
            text,
            {
                "symbol": position.symbol,
                "size": str(order.filled_base),
                "price": str(order.avg_price),
                "stop": str(position.stop_price),
            },
        )

    # -- Leg 2

    async def _leg2(self, position: PositionRecord, orders: list[OrderRecord], market: _Pass) -> None:
        now = self.clock.now()
        leg2 = _latest(orders, OrderRole.LEG2)
        if position.leg2_state is Leg2State.SENT and leg2 is not None:
            if leg2.filled_base > 0 and leg2.state in TERMINAL:
                position.leg2_state = LEG2_TRANSITIONS.next(position.leg2_state, Leg2Event.FILL)
                self._move(position, PositionEvent.LEG2_FILLED)
                await self.store.save_position(position)
                await self._event(
                    position,
                    "entry_leg2",
                    f"Leg 2 filled {leg2.filled_base} at {leg2.avg_price}; "
                    f"blended entry {position.blended_entry}",
                    {
                        "symbol": position.symbol,
                        "size": str(leg2.filled_base),
                        "price": str(leg2.avg_price),
                        "entry": str(position.blended_entry),
                        "stop": str(position.stop_price),
                    },
                )
            elif leg2.state in LIVE and now >= position.leg2_expires_at:
                await self.orders.cancel(leg2)
            elif leg2.state in TERMINAL and leg2.filled_base == 0:
                await self._release_leg2(position, f"Leg 2 order ended {leg2.state.value} without a fill")
            return
        if position.leg2_state is not Leg2State.RESERVED or position.state is not PositionState.OPEN:
            return
        if now >= position.leg2_expires_at:
            await self._release_leg2(position, "no 15m CHoCH before the Leg 2 expiry")
            return
        if not self.signals.bullish_choch_15m(await self._series(market, position.symbol)):
            return
        price = market.rules.round_price_up(market.ask)
        refusal = leg2_allowed(price, position.stop_price, position.pt1, self.config.stop_band)
        qty = ZERO
        if refusal is None:
            taken = position.cost_quote - position.stop_price * position.bought_qty
            qty = leg2_qty_within_risk(
                reserved_qty=position.leg2_qty,
                price=price,
                stop=position.stop_price,
                planned_risk=position.planned_r_quote,
                risk_taken=taken,
                rules=market.rules,
            )
            if not is_placeable(qty, price, market.rules):
                refusal = f"Leg 2 of {qty} at {price} is below the venue minimum"
            else:
                refusal = leg2_blend_refusal(
                    cost_quote=position.cost_quote,
                    bought_qty=position.bought_qty,
                    qty=qty,
                    price=price,
                    stop=position.stop_price,
                    pt2=position.pt2,
                    fee_rate=position.fee_rate,
                    band=self.config.stop_band,
                )
        if refusal is not None:
            await self._release_leg2(position, f"15m CHoCH seen but {refusal}")
            return
        position.leg2_state = LEG2_TRANSITIONS.next(position.leg2_state, Leg2Event.SEND)
        await self.store.save_position(position)
        await self.orders.place(position, OrderRole.LEG2, Side.BUY, OrderType.LIMIT, qty, price=price)
        await self._event(position, "leg2_sent", f"15m CHoCH confirmed: Leg 2 buy {qty} at {price}")
        await self._leg2(position, await self._sync_orders(position), market)

    async def _release_leg2(self, position: PositionRecord, why: str) -> None:
        position.leg2_state = LEG2_TRANSITIONS.next(position.leg2_state, Leg2Event.RELEASE)
        await self.store.save_position(position)
        await self._event(position, "leg2_released", f"Leg 2 reservation released: {why}")

    # -- Trailing

    async def _trail(self, position: PositionRecord, market: _Pass) -> None:
        if position.state is not PositionState.PT2_TAKEN:
            return
        higher_low = self.signals.latest_higher_low(await self._series(market, position.symbol))
        new_stop = trailed_stop(position.stop_price, higher_low, market.bid, market.rules)
        if new_stop > position.stop_price:
            old = position.stop_price
            position.stop_price = new_stop
            self._move(position, PositionEvent.STOP_MOVED)
            await self.store.save_position(position)
            await self._event(
                position, "stop_trailed", f"stop trailed {old} → {new_stop} below the 15m higher low"
            )

    # -- Protection

    async def _protect(self, position: PositionRecord, orders: list[OrderRecord], market: _Pass) -> None:
        """Keep exactly one stop resting for the whole sellable quantity at the current stop price."""
        sellable = await self._sellable(position, market)
        live = [o for o in orders if o.role is OrderRole.STOP and o.state in LIVE]
        wanted = is_placeable(sellable, position.stop_price, market.rules)
        if (
            len(live) == 1
            and wanted
            and live[0].qty_base == sellable
            and live[0].trigger_price == position.stop_price
        ):
            return
        for order in live:
            await self.orders.cancel(order)
        if live and any(o.filled_base > 0 for o in live):
            return  # a stop fired while being replaced: the next pass books the exit
        if not wanted or position.stop_mode == "watchdog":
            return
        if self.config.spot_stop(position.exchange_id) is SpotStopKind.NONE:
            position.stop_mode = "watchdog"
            await self.store.save_position(position)
            await self._event(
                position,
                "stop_watchdog",
                f"protected by QARI's watchdog: the venue cannot rest a spot stop, so the server sells "
                f"at market once the bid reaches {position.stop_price:f}",
            )
            return
        if position.stop_price >= market.bid:
            # Already through the stop (e.g. break-even above a fallen price): a resting sell stop there
            # would wait for a rise, so exit now instead.
            await self._stop_fired(position, await self._sync_orders(position), market)
            return
        order = await self.orders.place(
            position,
            OrderRole.STOP,
            Side.SELL,
            OrderType.STOP_MARKET,
            sellable,
            trigger_price=position.stop_price,
        )
        if order.state is OrderState.REJECTED:
            await self._event(position, "stop_rejected", f"the venue refused the stop: {order.note}")
        else:
            await self._event(
                position, "stop_placed", f"stop rests on the venue: {sellable} at {position.stop_price}"
            )

    # -- Close

    async def _close_if_done(
        self,
        position: PositionRecord,
        orders: list[OrderRecord],
        market: _Pass,
        reason: ExitReason | None,
    ) -> None:
        if position.state not in (PositionState.OPEN, PositionState.PT1_TAKEN, PositionState.PT2_TAKEN):
            return
        if any(o.side is Side.BUY and o.state in LIVE for o in orders):
            return
        if any(o.state in (OrderState.NEW, OrderState.SUBMITTED, OrderState.UNKNOWN) for o in orders):
            return
        rest = await self._sellable(position, market)
        if is_placeable(rest, market.bid, market.rules) or position.sold_qty <= 0:
            return
        if reason is None:
            last = max(
                (o for o in orders if o.side is Side.SELL and o.filled_base > 0),
                key=_order_time,
                default=None,
            )
            if last is not None and last.role is OrderRole.STOP:
                reason = exit_reason_for_stop(position.state)
            elif last is not None and last.role is OrderRole.PT2:
                reason = ExitReason.PT2_AND_TRAIL
            else:
                reason = ExitReason.DUST
        now = self.clock.now()
        for order in orders:
            if order.role is OrderRole.STOP and order.state in LIVE:
                await self.orders.cancel(order)
        pnl = position.proceeds_quote - position.cost_quote - _quote_fees(orders)
        position.realised_pnl_quote = pnl
        position.realised_r = realised_r(pnl, position.planned_r_quote)
        position.exit_reason = reason.value
        position.closed_at = now
        before = await kill_switch_for(self.store, _profile_stub(position), now)
        self._move(position, PositionEvent.STOP_HIT if reason in _STOP_REASONS else PositionEvent.CLOSED_OUT)
        await self.store.save_position(position, realised=RealisedR(now, position.realised_r))
        with contextlib.suppress(RetryableError):  # the journal's fill copy is completed by reconciliation
            await self.book_fills(position)
        alert_kind = {ExitReason.TRAILING_STOP: "trailing_exit"}.get(reason, "stop_loss")
        sold = position.sold_qty
        data = {
            "symbol": position.symbol,
            "size": str(sold),
            "price": str((position.proceeds_quote / sold).quantize(PRICE_PLACES)) if sold > 0 else "",
            "entry": str(position.blended_entry or position.entry_price),
            "pnl_usdt": f"{pnl:.2f}",
            "pnl_r": str(position.realised_r),
            "reason": reason.value,
        }
        await self._event(
            position,
            alert_kind if reason in _STOP_REASONS else "closed",
            f"closed ({reason.value}): P&L {pnl:.2f} USDT = {position.realised_r}R",
            data if reason in _STOP_REASONS else None,
        )
        after = await kill_switch_for(self.store, _profile_stub(position), now)
        if after.halted and not before.halted:
            await self._event(
                position,
                "kill_switch_tripped",
                after.reason,
                {"reason": after.reason, "pnl_r": str(after.day_r)},
            )


_STOP_REASONS = frozenset({ExitReason.STOP_LOSS, ExitReason.BREAK_EVEN, ExitReason.TRAILING_STOP})


def _profile_stub(position: PositionRecord) -> TradingProfile:
    return TradingProfile(user_id=position.user_id, exchange_id=position.exchange_id)


def _order_time(order: OrderRecord) -> dt.datetime:
    return order.updated_at or order.created_at


def _latest(orders: list[OrderRecord], role: OrderRole) -> OrderRecord | None:
    found = [o for o in orders if o.role is role]
    return found[-1] if found else None


def _quote_fees(orders: list[OrderRecord]) -> Decimal:
    return sum((o.fee for o in orders if o.fee_currency == "USDT"), ZERO)


def _recompute(position: PositionRecord, orders: list[OrderRecord]) -> None:
    """Position quantities from the orders' cumulative fills: idempotent, so a replay books nothing twice.

    One pass; each total adds the same terms in the same order as summing it alone would."""
    bought = sold = fee_base = cost = proceeds = quote_fees = base_fees_value = ZERO
    base = position.base
    for o in orders:
        if o.filled_base > 0:
            if o.side is Side.BUY:
                bought += o.filled_base
                cost += o.filled_base * (o.avg_price or ZERO)
            elif o.side is Side.SELL:
                sold += o.filled_base
                proceeds += o.filled_base * (o.avg_price or ZERO)
        if o.fee_currency == base:
            fee_base += o.fee
            base_fees_value += o.fee * (o.avg_price or ZERO)
        if o.fee_currency == "USDT":
            quote_fees += o.fee
    position.bought_qty = bought
    position.sold_qty = sold
    position.fee_base = fee_base
    position.cost_quote = cost
    position.proceeds_quote = proceeds
    position.fees_quote = quote_fees + base_fees_value
    # blended_entry over the buys: their cost over their quantity (the same two sums)
    position.blended_entry = cost / bought if bought > 0 else None


def _candidate_dict(candidate: TradeCandidate, entry: Decimal) -> dict[str, Any]:
    return {
        "symbol": candidate.symbol,
        "entry_low": str(candidate.entry_low),
        "entry_high": str(candidate.entry_high),
        "entry": str(entry),
        "stop": str(candidate.stop),
        "pt1": str(candidate.pt1),
        "pt2": str(candidate.pt2),
        "score": float(candidate.score),
        "explanation": candidate.explanation,
    }
