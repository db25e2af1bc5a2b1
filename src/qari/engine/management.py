"""Managing open positions: one pass per position every 30 s (and right after an entry).

The pass, in order (`manage_one`): refresh the orders from the venue and recompute the position; a
pending Leg 1 (fill, expiry, re-place); the stop (fired, gapped, the watchdog); the user's "close
now"; Leg 1's expiry; the targets (PT1 40 %, PT2 30 %); Leg 2 on a 15m CHoCH; trailing after PT2;
protection; closing once nothing sellable is left. The stop, exits and closing are
`qari.engine.protection`'s; what changes on the position (state, stop, P&L, exit reason) is
`qari.trading.position.Position`'s. This module talks to the venue and the journal and decides *when*.

Invariants kept: any filled quantity has a stop resting on the venue (or a server-side watchdog);
exits never ask for more than the account holds; the kill switch never touches open positions'
protection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from qari.core.errors import RetryableError
from qari.core.instrument import InstrumentRules
from qari.core.market import CandleSeries
from qari.core.orders import OrderType, Side
from qari.engine.gate_facts import closed_candles
from qari.engine.orders import OrderManager
from qari.engine.protection import MarketPass, Protection
from qari.ports import AlertSink, Clock, ExchangeClient, TradingStore
from qari.risk.kill_switch import RLimits, day_window, evaluate_kill_switch
from qari.risk.profile import TradingProfile
from qari.trading.exits import (
    PT1_SHARE,
    PT2_SHARE,
    is_placeable,
    leg2_allowed,
    leg2_blend_refusal,
    leg2_qty_within_risk,
    target_exit_qty,
    trailed_stop,
)
from qari.trading.order import LIVE, TERMINAL, UNRESOLVED, OrderRole, OrderState
from qari.trading.position import Leg2Event, Leg2State, Position, PositionEvent, PositionState
from qari.trading.records import OrderRecord, PositionRecord

if TYPE_CHECKING:
    from qari.engine.execution import ExecutionConfig, StructureSignals

ZERO = Decimal(0)


class PositionManagement:
    """Everything after Leg 1 is placed, for one user on one venue (see the module docstring)."""

    def __init__(
        self,
        exchange: ExchangeClient,
        store: TradingStore,
        clock: Clock,
        config: ExecutionConfig,
        signals: StructureSignals,
        orders: OrderManager,
    ) -> None:
        self.exchange = exchange
        self.store = store
        self.clock = clock
        self.config = config
        self.signals = signals
        self.orders = orders
        self.protection = Protection(exchange, store, clock, config, orders)
        self.markets: Mapping[str, InstrumentRules] | None = None  # the venue's rules, read once

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
                await self.manage_one(position)
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

    async def _market(self, position: PositionRecord) -> MarketPass:
        if self.markets is None or position.symbol not in self.markets:
            self.markets = await self.exchange.load_markets()
        rules = self.markets[position.symbol]
        ticker = await self.exchange.fetch_ticker(position.symbol)
        bid = ticker.bid or ticker.last
        ask = ticker.ask or ticker.last
        return MarketPass(rules, bid, ask)

    async def _series(self, market: MarketPass, symbol: str) -> CandleSeries:
        if market.series_15m is None:
            market.series_15m = await closed_candles(self.exchange, symbol, "15m", self.clock.now(), 120)
        return market.series_15m

    async def manage_one(self, position: PositionRecord, known: list[OrderRecord] | None = None) -> None:
        """`known`: the position's every order as journaled (else read from the journal)."""
        orders = await self.protection.sync_orders(position, known)
        synced = self.orders.changes  # orders re-read below only after this pass changed one
        if not position.is_open:
            return
        market = await self._market(position)
        if any(o.state in UNRESOLVED for o in orders):
            # An order's outcome is unknown: nothing new is sent until the lookup settles it. The
            # server-side watchdog still guards the stop meanwhile.
            if position.state is not PositionState.PENDING:
                await self.protection.stop_fired(position, orders, market, watchdog_only=True)
            return
        if position.state is PositionState.PENDING:
            await self._pending(position, orders, market)
            if position.state is PositionState.PENDING or not position.is_open:
                return
        if await self.protection.stop_fired(position, orders, market):
            return
        if position.close_requested_at is not None:
            await self.protection.close_now(position, orders, market)
            return
        await self._leg1_expiry(position, orders)
        await self._targets(position, orders, market)
        if position.is_open:
            await self._leg2(position, orders, market)
            await self._trail(position, market)
            if self.orders.changes != synced:
                orders, synced = await self.protection.sync_orders(position), self.orders.changes
            await self.protection.protect(position, orders, market)
            if self.orders.changes != synced:
                orders = await self.protection.sync_orders(position)
            await self.protection.close_if_done(position, orders, market, None)

    def _move(self, position: PositionRecord, event: PositionEvent) -> None:
        Position(position).apply(event)

    # -- Leg 1

    async def _pending(self, position: PositionRecord, orders: list[OrderRecord], market: MarketPass) -> None:
        leg1 = _latest(orders, OrderRole.LEG1)
        now = self.clock.now()
        if position.bought_qty > 0:
            await self._entered(position, PositionEvent.LEG1_FILLED)
            return
        if now >= position.leg1_expires_at:
            if leg1 is not None and leg1.state in LIVE:
                await self.orders.cancel(leg1)
                orders = await self.protection.sync_orders(position)
                if position.bought_qty > 0:
                    await self._entered(position, PositionEvent.LEG1_FILLED)
                    return
            Position(position).end_unfilled(PositionEvent.LEG1_EXPIRED, now)
            await self.store.save_position(position)
            await self.protection.record_event(
                position, "leg1_expired", "Leg 1 expired unfilled; Leg 2 reservation released"
            )
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
            Position(position).end_unfilled(PositionEvent.ENTRY_REJECTED, now)
            await self.store.save_position(position)
            await self.protection.record_event(
                position, "entry_rejected", f"Leg 1 was refused by the venue: {leg1.note}"
            )

    async def _entered(self, position: PositionRecord, event: PositionEvent) -> None:
        self._move(position, event)
        await self.store.save_position(position)
        await self.protection.record_event(
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
            await self.protection.record_event(
                position, "leg1_remainder_canceled", "Leg 1 expired; its unfilled remainder is canceled"
            )

    # -- Targets

    async def _targets(self, position: PositionRecord, orders: list[OrderRecord], market: MarketPass) -> None:
        price = market.bid
        if position.state is PositionState.OPEN and price >= position.pt1:
            await self._take_profit(position, orders, market, OrderRole.PT1, PT1_SHARE)
        elif position.state is PositionState.PT1_TAKEN and price >= position.pt2:
            await self._take_profit(position, orders, market, OrderRole.PT2, PT2_SHARE)

    async def _take_profit(
        self,
        position: PositionRecord,
        orders: list[OrderRecord],
        market: MarketPass,
        role: OrderRole,
        share: Decimal,
    ) -> None:
        if role is OrderRole.PT1:
            for order in orders:
                if order.side is Side.BUY and order.state in LIVE:
                    await self.orders.cancel(order)
            Position(position).release_leg2()
        for order in orders:
            if order.role is OrderRole.STOP and order.state in LIVE:
                await self.orders.cancel(order)
        orders = await self.protection.sync_orders(position)
        if any(o.role is OrderRole.STOP and o.filled_base > 0 for o in orders):
            return  # the stop fired while we were cancelling it: the next pass closes the position
        if role is OrderRole.PT1:
            position.entered_qty_at_pt1 = position.bought_qty - position.fee_base
        entered = position.entered_qty_at_pt1 or position.held_qty
        sellable = await self.protection.sellable(position, market)
        qty = target_exit_qty(share, entered, sellable, market.bid, market.rules)
        if qty <= 0:
            return
        placed = await self.orders.place(position, role, Side.SELL, OrderType.MARKET, qty)
        synced = await self.protection.sync_orders(position)
        order = next((o for o in synced if o.client_order_id == placed.client_order_id), placed)
        if order.filled_base <= 0:
            return
        Position(position).take_target(role, market.rules)
        if role is OrderRole.PT1:
            kind, text = (
                "pt1",
                f"PT1: sold {order.filled_base} at {order.avg_price}; "
                f"stop to break-even {position.stop_price}",
            )
        else:
            kind, text = "pt2", f"PT2: sold {order.filled_base} at {order.avg_price}; trailing the rest"
        await self.store.save_position(position)
        await self.protection.record_event(
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

    async def _leg2(self, position: PositionRecord, orders: list[OrderRecord], market: MarketPass) -> None:
        now = self.clock.now()
        leg2 = _latest(orders, OrderRole.LEG2)
        if position.leg2_state is Leg2State.SENT and leg2 is not None:
            if leg2.filled_base > 0 and leg2.state in TERMINAL:
                Position(position).apply_leg2(Leg2Event.FILL)
                self._move(position, PositionEvent.LEG2_FILLED)
                await self.store.save_position(position)
                await self.protection.record_event(
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
        Position(position).apply_leg2(Leg2Event.SEND)
        await self.store.save_position(position)
        await self.orders.place(position, OrderRole.LEG2, Side.BUY, OrderType.LIMIT, qty, price=price)
        await self.protection.record_event(
            position, "leg2_sent", f"15m CHoCH confirmed: Leg 2 buy {qty} at {price}"
        )
        await self._leg2(position, await self.protection.sync_orders(position), market)

    async def _release_leg2(self, position: PositionRecord, why: str) -> None:
        Position(position).apply_leg2(Leg2Event.RELEASE)
        await self.store.save_position(position)
        await self.protection.record_event(position, "leg2_released", f"Leg 2 reservation released: {why}")

    # -- Trailing

    async def _trail(self, position: PositionRecord, market: MarketPass) -> None:
        if position.state is not PositionState.PT2_TAKEN:
            return
        higher_low = self.signals.latest_higher_low(await self._series(market, position.symbol))
        new_stop = trailed_stop(position.stop_price, higher_low, market.bid, market.rules)
        if new_stop > position.stop_price:
            old = position.stop_price
            Position(position).move_stop(new_stop)
            await self.store.save_position(position)
            await self.protection.record_event(
                position, "stop_trailed", f"stop trailed {old} → {new_stop} below the 15m higher low"
            )


def _latest(orders: list[OrderRecord], role: OrderRole) -> OrderRecord | None:
    found = [o for o in orders if o.role is role]
    return found[-1] if found else None
