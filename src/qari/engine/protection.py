"""Protection and closing: the stop, the exits that end a position, and the journal's fill copy.

- `protect`: exactly one stop resting for the whole sellable quantity at the position's stop price
  (or, where the venue has no spot stops, QARI's server-side watchdog, `stop_mode="watchdog"`).
- `stop_fired`: a stop that filled, a bid at/below the stop with nothing resting (watchdog), or a
  stop-limit passed by a gap: cancel resting buys, sell the rest at market, close.
- `close_now`: the user's "close now" from the dashboard, carried out like a stop exit.
- `close_if_done`: once nothing sellable is left, book P&L and R (`Position.close`) and tell the user.

`sync_orders`, `sellable` and `record_event` are the pass's shared steps; `PositionManagement` calls
them too. Exits never ask for more than the account holds (`sellable`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from qari.core.errors import RetryableError
from qari.core.instrument import InstrumentRules
from qari.core.market import CandleSeries
from qari.core.orders import OrderType, Side, SpotStopKind
from qari.core.time import from_ms, to_ms
from qari.engine.gate_facts import kill_switch_for
from qari.engine.orders import OrderManager
from qari.ports import Clock, ExchangeClient, TradingStore
from qari.risk.kill_switch import RealisedR
from qari.risk.profile import TradingProfile
from qari.trading.exits import is_placeable, sellable_qty
from qari.trading.order import LIVE, TERMINAL, UNRESOLVED, OrderRole, OrderState
from qari.trading.position import STOP_REASONS, ExitReason, Position, PositionState, exit_reason_for_stop
from qari.trading.records import FillRecord, OrderRecord, PositionRecord

if TYPE_CHECKING:
    from qari.engine.execution import ExecutionConfig

ZERO = Decimal(0)
PRICE_PLACES = Decimal("0.00000001")  # an average exit price: 8 places, as the backtest reports it


@dataclass(slots=True)
class MarketPass:
    """What one management pass knows about the market for a position."""

    rules: InstrumentRules
    bid: Decimal
    ask: Decimal
    base_total: Decimal | None = None
    balance_for_held: Decimal | None = None  # the held quantity the balance was read for
    series_15m: CandleSeries | None = None


class Protection:
    """Stops, exits and closing for one user on one venue (see the module docstring)."""

    def __init__(
        self,
        exchange: ExchangeClient,
        store: TradingStore,
        clock: Clock,
        config: ExecutionConfig,
        orders: OrderManager,
    ) -> None:
        self.exchange = exchange
        self.store = store
        self.clock = clock
        self.config = config
        self.orders = orders

    async def sellable(self, position: PositionRecord, market: MarketPass) -> Decimal:
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

    async def sync_orders(
        self, position: PositionRecord, known: list[OrderRecord] | None = None
    ) -> list[OrderRecord]:
        """Refresh every unsettled order from the venue and recompute the position's quantities."""
        assert position.id is not None
        orders = known if known is not None else await self.store.orders_for(position.id)
        await self.orders.refresh_all(orders)
        if Position(position).recompute(orders):
            await self.store.save_position(position)
        return orders

    async def record_event(
        self, position: PositionRecord, kind: str, message: str, alert: dict[str, str] | None = None
    ) -> None:
        await self.store.record_event(position, kind, message, self.clock.now(), alert=alert)

    # -- Stop hit

    async def stop_fired(
        self,
        position: PositionRecord,
        orders: list[OrderRecord],
        market: MarketPass,
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
            orders = await self.sync_orders(position)
            if any(o.role is OrderRole.STOP and o.state not in TERMINAL for o in orders):
                return True  # the cancel is not confirmed yet: never sell beside a live stop
            stop_hit = True
        if not stop_hit and not watchdog:
            return False
        for order in orders:
            if order.side is Side.BUY and order.state in LIVE:
                await self.orders.cancel(order)
        Position(position).release_leg2()
        orders = await self.sync_orders(position)
        rest = await self.sellable(position, market)
        if is_placeable(rest, market.bid, market.rules):
            await self.orders.place(position, OrderRole.EXIT, Side.SELL, OrderType.MARKET, rest)
            orders = await self.sync_orders(position)
            if gapped:
                await self.record_event(
                    position,
                    "stop_gapped",
                    f"the stop-limit was passed by a gap: QARI's watchdog sold {rest:f} at market "
                    f"(bid {market.bid:f}, below the stop's limit)",
                )
        # Closed only once nothing sellable is left; a failed exit is retried next pass.
        await self.close_if_done(position, orders, market, exit_reason_for_stop(position.state))
        return True

    def _gapped_stops(
        self, position: PositionRecord, orders: list[OrderRecord], market: MarketPass
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

    async def close_now(
        self, position: PositionRecord, orders: list[OrderRecord], market: MarketPass
    ) -> None:
        """The user's "close now": like a stop exit, resting buys and the stop are cancelled and the
        rest is sold at market through the order manager; closed once nothing sellable is left (a
        failed exit is retried next pass, the request stays until then)."""
        for order in orders:
            if order.state in LIVE and (order.side is Side.BUY or order.role is OrderRole.STOP):
                await self.orders.cancel(order)
        Position(position).release_leg2()
        orders = await self.sync_orders(position)
        if any(o.role is OrderRole.STOP and o.filled_base > 0 for o in orders):
            return  # the stop fired while being cancelled: the next pass closes it as a stop-out
        if not any(o.side is Side.SELL and o.state in LIVE for o in orders):
            rest = await self.sellable(position, market)
            if is_placeable(rest, market.bid, market.rules):
                await self.orders.place(position, OrderRole.EXIT, Side.SELL, OrderType.MARKET, rest)
                orders = await self.sync_orders(position)
        await self.close_if_done(position, orders, market, ExitReason.MANUAL)

    # -- Protection

    async def protect(self, position: PositionRecord, orders: list[OrderRecord], market: MarketPass) -> None:
        """Keep exactly one stop resting for the whole sellable quantity at the current stop price."""
        sellable = await self.sellable(position, market)
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
            await self.record_event(
                position,
                "stop_watchdog",
                f"protected by QARI's watchdog: the venue cannot rest a spot stop, so the server sells "
                f"at market once the bid reaches {position.stop_price:f}",
            )
            return
        if position.stop_price >= market.bid:
            # Already through the stop (e.g. break-even above a fallen price): a resting sell stop there
            # would wait for a rise, so exit now instead.
            await self.stop_fired(position, await self.sync_orders(position), market)
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
            await self.record_event(position, "stop_rejected", f"the venue refused the stop: {order.note}")
        else:
            await self.record_event(
                position, "stop_placed", f"stop rests on the venue: {sellable} at {position.stop_price}"
            )

    # -- Close

    async def close_if_done(
        self,
        position: PositionRecord,
        orders: list[OrderRecord],
        market: MarketPass,
        reason: ExitReason | None,
    ) -> None:
        if position.state not in (PositionState.OPEN, PositionState.PT1_TAKEN, PositionState.PT2_TAKEN):
            return
        if any(o.side is Side.BUY and o.state in LIVE for o in orders):
            return
        if any(o.state in (OrderState.NEW, OrderState.SUBMITTED, OrderState.UNKNOWN) for o in orders):
            return
        rest = await self.sellable(position, market)
        if is_placeable(rest, market.bid, market.rules) or position.sold_qty <= 0:
            return
        aggregate = Position(position)
        if reason is None:  # chosen from the sells as they stood before the cancels below
            reason = aggregate.exit_reason(orders)
        now = self.clock.now()
        for order in orders:
            if order.role is OrderRole.STOP and order.state in LIVE:
                await self.orders.cancel(order)
        pnl, r = aggregate.close(reason, orders, now)
        before = await kill_switch_for(self.store, _profile_stub(position), now)
        await self.store.save_position(position, realised=RealisedR(now, r))
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
        await self.record_event(
            position,
            alert_kind if reason in STOP_REASONS else "closed",
            f"closed ({reason.value}): P&L {pnl:.2f} USDT = {position.realised_r}R",
            data if reason in STOP_REASONS else None,
        )
        after = await kill_switch_for(self.store, _profile_stub(position), now)
        if after.halted and not before.halted:
            await self.record_event(
                position,
                "kill_switch_tripped",
                after.reason,
                {"reason": after.reason, "pnl_r": str(after.day_r)},
            )

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


def _profile_stub(position: PositionRecord) -> TradingProfile:
    return TradingProfile(user_id=position.user_id, exchange_id=position.exchange_id)
