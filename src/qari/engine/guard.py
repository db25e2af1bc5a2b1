"""Where the blast-radius guard (`qari.risk.guard`) is enforced: `OrderManager` asks `OrderGuard.admit`
right before every `create_order`, so no order of the engine (live or sandbox) reaches a venue around it.

This is the part the isolated signer will run: it reads the venue's ticker and book for a buy (the
facts the policy needs), keeps the user's day's buy notional and the anomaly halts, and records and
alerts every refusal. A refusal is a `RejectedError`: the order is journaled REJECTED with the reason,
exactly like a venue refusal. The day's buy notional is read from the journal (one home per fact).
Halts live in this process (one guard per engine, shared by all units): a restart clears them, and an
order still open on the venue halts the key again at the next reconciliation.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal

from qari.core.errors import QariError
from qari.core.orders import Side
from qari.ports import AlertSink, ExchangeClient, TradingStore
from qari.risk.guard import (
    GuardLimits,
    GuardOrder,
    GuardRefusedError,
    Halt,
    MarketFacts,
    SentBuy,
    VenueActivity,
    book_depth,
    detect_anomalies,
    evaluate_guard,
    spent_today,
)
from qari.risk.kill_switch import day_window
from qari.risk.profile import TradingProfile
from qari.trading.order import TERMINAL
from qari.trading.records import OrderRecord

log = logging.getLogger("qari.engine.guard")
FOREIGN_MEMORY = dt.timedelta(hours=24)


class OrderGuard:
    def __init__(
        self,
        *,
        operator_user_id: int | None = None,
        operator: Callable[[], Awaitable[int | None]] | None = None,
    ) -> None:
        """Who is alerted of halts besides the key's owner: `operator_user_id`, or as `operator` reads it."""
        self.operator_user_id = operator_user_id
        self._operator = operator
        self._limits: dict[int, GuardLimits] = {}
        self.halts: list[Halt] = []
        self._foreign: dict[tuple[str, int, str, str, str], VenueActivity] = {}

    def know(self, profile: TradingProfile) -> None:
        """The user's caps from their plan (and their own lower caps); until told, the smallest plan's."""
        self._limits[profile.user_id] = GuardLimits.for_plan(
            profile.plan,
            per_order_usdt=profile.guard_order_cap_usdt,
            per_day_usdt=profile.guard_day_cap_usdt,
        )

    def limits_for(self, user_id: int) -> GuardLimits:
        return self._limits.get(user_id) or GuardLimits.for_plan("")

    def halted(self, exchange_id: str, user_id: int, symbol: str) -> str | None:
        for h in self.halts:
            if h.exchange_id != exchange_id:
                continue
            if (h.user_id is None or h.user_id == user_id) and (h.symbol is None or h.symbol == symbol):
                return f"halted: {h.reason}"
        return None

    async def _facts(self, exchange: ExchangeClient, symbol: str, band_pct: Decimal) -> MarketFacts | None:
        try:
            ticker = await exchange.fetch_ticker(symbol)
            book = await exchange.fetch_order_book(symbol, 50)
        except QariError as e:
            log.warning("guard: market facts for %s unreadable: %s", symbol, e)
            return None
        depth = book_depth(book, band_pct)
        return MarketFacts(
            last=ticker.last,
            quote_volume_24h=ticker.quote_volume_24h,
            bid_depth_quote=None if depth is None else depth[0],
            ask_depth_quote=None if depth is None else depth[1],
        )

    async def admit(
        self, order: OrderRecord, exchange: ExchangeClient, store: TradingStore, now: dt.datetime
    ) -> None:
        """Return if `order` may be sent; else record the refusal, alert, and raise GuardRefusedError."""
        exchange_id = str(getattr(exchange, "exchange_id", ""))
        request = GuardOrder(
            order.user_id, exchange_id, order.symbol, order.side, order.qty_base, order.price
        )
        await self.check(
            request,
            exchange,
            store,
            now,
            client_order_id=order.client_order_id,
            order_id=order.id,
            position_id=order.position_id,
        )

    async def check(
        self,
        request: GuardOrder,
        exchange: ExchangeClient,
        store: TradingStore,
        now: dt.datetime,
        *,
        client_order_id: str,
        order_id: int | None = None,
        position_id: int | None = None,
    ) -> None:
        """The one enforcement of the policy, for the engine (`admit`) and the signer (which knows only
        the request): read the venue's facts and the day's journaled buys (this order excluded), judge,
        and on a refusal log, record (on the position if known, else as an alert) and raise."""
        if request.side is Side.SELL:  # never refused, nothing to read
            return
        limits = self.limits_for(request.user_id)
        market = await self._facts(exchange, request.symbol, limits.depth_band_pct)
        journaled = await store.buy_orders_since(request.user_id, day_window(now)[0])
        sent = [
            SentBuy(o.qty_base, o.price, o.filled_base, o.avg_price, o.state in TERMINAL)
            for o in journaled
            if (order_id is None or o.id != order_id) and o.client_order_id != client_order_id
        ]
        verdict = evaluate_guard(
            request,
            market,
            limits,
            spent_today_usdt=spent_today(sent),
            halted=self.halted(request.exchange_id, request.user_id, request.symbol),
        )
        if verdict.allowed:
            return
        log.warning(
            "guard refused %s %s for user %s: %s",
            request.side,
            request.symbol,
            request.user_id,
            verdict.reason,
        )
        position = None if position_id is None else await store.get_position(position_id)
        alert = {"symbol": request.symbol, "side": request.side.value, "reason": verdict.reason}
        if position is not None:
            await store.record_event(position, "guard_refused", verdict.reason, now, alert=alert)
        elif isinstance(store, AlertSink):
            await store.alert(request.user_id, "guard_refused", alert, now)
        raise GuardRefusedError(verdict)

    async def observe(
        self,
        activities: Iterable[VenueActivity],
        is_ours: set[str] | frozenset[str],
        store: TradingStore,
        now: dt.datetime,
        *,
        prefixes: tuple[str, ...] = (),
    ) -> list[Halt]:
        """Feed the venue's orders/fills seen on users' keys; activity not made by QARI (its client id
        neither journaled nor carrying our prefix) halts the key, and several keys buying one symbol
        that way halt the symbol. New halts are alerted to the key's owner and the operator."""

        def ours(a: VenueActivity) -> bool:
            cid = a.client_order_id or ""
            return bool(cid) and (cid in is_ours or any(cid.startswith(p) for p in prefixes))

        for a in activities:  # remembered for a day: keys of other units add up to a symbol halt
            if not ours(a):
                self._foreign[(a.exchange_id, a.user_id, a.symbol, a.side.value, a.client_order_id or "")] = a
        self._foreign = {k: a for k, a in self._foreign.items() if now - a.at < FOREIGN_MEMORY}
        new = [h for h in detect_anomalies(self._foreign.values(), ours) if h not in self.halts]
        self.halts.extend(new)
        for h in new:
            log.warning("guard halt on %s: %s", h.exchange_id, h.reason)
            if not isinstance(store, AlertSink):
                continue
            data = {"exchange": h.exchange_id, "reason": h.reason}
            if h.symbol is not None:
                data["symbol"] = h.symbol
            if self._operator is not None:
                self.operator_user_id = await self._operator()
            targets = {h.user_id, self.operator_user_id} - {None}
            for user_id in sorted(t for t in targets if t is not None):
                key = f"guard_halt:{h.exchange_id}:{h.user_id}:{h.symbol}:{now.date()}"
                await store.alert(user_id, "guard_halt", data, now, dedupe_key=key)
        return new
