"""OrderManager: record the intent, then send, then apply the venue's answer (ARCHITECTURE rule 6).

1. The order gets a deterministic client order id (`<namespace><user>-<position>-<role><seq>`, spelled
   within the venue's rules: `qari.core.client_ids`) and is committed as NEW before anything is sent.
2. It is committed as SUBMITTED, then `create_order` is called exactly once. (An entry journals its
   Leg 1 as SUBMITTED in the batch that records the entry, so that commit is the last before the
   send: see `prepare(submitted=True)`.)
3. A timeout or connection error makes it UNKNOWN; it is resolved by looking the client id up on the
   venue (`fetch_order_by_client_id`), never by sending again. A lookup that finds nothing means the
   venue never received it (ABSENT); only then may the caller place a *new* order (new id).

`checkpoint(name, order)` is called at "persisted" (the intent committed, nothing sent) and at "sent"
(the venue accepted it, the answer not yet recorded); crash tests kill the process there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal

from qari.core.client_ids import STRICTEST, ClientIdRules
from qari.core.errors import (
    ExchangeUnavailableError,
    FatalError,
    OrderNotFoundError,
    OutcomeUnknownError,
    RejectedError,
)
from qari.core.orders import OrderRequest, OrderType, Side
from qari.core.time import to_ms
from qari.engine.guard import OrderGuard
from qari.ports import Clock, ExchangeClient, TradingStore
from qari.trading.order import (
    TERMINAL,
    UNRESOLVED,
    OrderEvent,
    OrderRole,
    OrderState,
    apply_event,
    apply_gone,
    apply_report,
    order_facts,
)
from qari.trading.records import OrderRecord, PositionRecord
from qari.trading.state_machine import InvalidTransition

Checkpoint = Callable[[str, OrderRecord], None]
Journal = Callable[[], Awaitable[None]]

# A sent order that the venue does not know counts as never received only once every venue's receive
# window (Bybit: at most 60 s; QARI signs with 10 s) has passed: until then a delayed request may land.
ABSENT_AFTER = dt.timedelta(seconds=60)
# A live order absent from the venue's reports is taken as ended only after this long.
MISSING = "missing from venue reports"
MISSING_FOR = dt.timedelta(seconds=60)


def client_order_id(
    namespace: str, position: PositionRecord, role: OrderRole, seq: int, rules: ClientIdRules = STRICTEST
) -> str:
    """Deterministic, and within the venue's rules (`rules`: its charset and length)."""
    assert position.id is not None
    return rules.build(namespace, position.user_id, position.id, role.value, seq)


class OrderManager:
    def __init__(
        self,
        exchange: ExchangeClient,
        store: TradingStore,
        clock: Clock,
        *,
        namespace: str = "q",
        checkpoint: Checkpoint | None = None,
        client_ids: Mapping[str, ClientIdRules] | None = None,
        guard: OrderGuard | None = None,
    ) -> None:
        """`client_ids`: each venue's client-id rules by exchange id (the strictest rules elsewhere).
        `guard`: the blast-radius guard every create passes right before the send (one per engine,
        shared by its units; a fresh one if none is given, never none)."""
        self.exchange = exchange
        self.store = store
        self.clock = clock
        self.namespace = namespace
        self.client_ids: Mapping[str, ClientIdRules] = client_ids or {}
        self._checkpoint = checkpoint or (lambda _name, _order: None)
        self.guard = guard or OrderGuard()
        # Moves on every order journaled or written and every create or cancel sent: a caller that
        # synced its orders since the last move holds them as the journal does.
        self.changes = 0

    async def _journal(self, order: OrderRecord) -> None:
        self.changes += 1
        await self.store.save_order(order)

    async def place(
        self,
        position: PositionRecord,
        role: OrderRole,
        side: Side,
        type_: OrderType,
        qty: Decimal,
        *,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> OrderRecord:
        order = await self.prepare(position, role, side, type_, qty, price=price, trigger_price=trigger_price)
        return await self.submit(order)

    async def prepare(
        self,
        position: PositionRecord,
        role: OrderRole,
        side: Side,
        type_: OrderType,
        qty: Decimal,
        *,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        submitted: bool = False,
    ) -> OrderRecord:
        """Step 1 alone: journal the intent as NEW (in the caller's batch, if any); nothing is sent.

        The position's order count goes up with it: a position not journaled yet (no id) is added here,
        its first order counted, so a new position and its first order are two inserts.

        `submitted=True` journals it as SUBMITTED at once, for a caller whose batch commit is the last
        write before `submit` sends the order: one commit fewer. The price: should the process die
        between that commit and the send, the lookup after the restart cannot tell "never sent" from
        "still in flight", so the order counts as absent only ABSENT_AFTER later (a NEW one at once)."""
        position.order_seq += 1
        if position.id is None:
            await self.store.add_position(position)
        else:
            await self.store.save_position(position)
        assert position.id is not None
        now = self.clock.now()
        order = OrderRecord(
            position_id=position.id,
            user_id=position.user_id,
            symbol=position.symbol,
            role=role,
            side=side,
            type=type_,
            qty_base=qty,
            client_order_id=client_order_id(
                self.namespace,
                position,
                role,
                position.order_seq,
                self.client_ids.get(position.exchange_id, STRICTEST),
            ),
            created_at=now,
            price=price,
            trigger_price=trigger_price,
            state=OrderState.SUBMITTED if submitted else OrderState.NEW,
            updated_at=now,
        )
        self.changes += 1
        await self.store.add_order(order)
        return order

    async def submit(self, order: OrderRecord, *, then: Journal | None = None) -> OrderRecord:
        """Steps 2-3 for an order `prepare` journaled (and its batch committed): SUBMITTED (unless it
        was journaled so), then send.

        `then`: the caller's journal writes that follow the send (e.g. its event line), run once
        whatever the outcome; they are written with the venue's answer, in one transaction
        (`TradingStore.later`: inside a unit's `deferred_writes()`, its next commit), when that needs
        no further venue call, otherwise after it."""
        self._checkpoint("persisted", order)
        if order.state is OrderState.NEW:
            apply_event(order, OrderEvent.SUBMIT)
            order.updated_at = self.clock.now()
            await self._journal(order)
        elif order.state is not OrderState.SUBMITTED:
            raise InvalidTransition("order", order.state, OrderEvent.SUBMIT)  # never sent twice
        return await self._send(order, then)

    async def _save(self, order: OrderRecord, then: Journal | None) -> None:
        if then is None:
            await self._journal(order)
            return

        async def answer() -> None:  # the answer and the caller's lines: one transaction
            await self._journal(order)
            await then()

        # Nothing sent later depends on the answer being durable (after a crash the order is looked up
        # by its client id), so it may ride on the unit's next commit (`TradingStore.later`).
        await self.store.later(answer)

    async def _send(self, order: OrderRecord, then: Journal | None = None) -> OrderRecord:
        self.changes += 1
        request = OrderRequest(
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            qty_base=order.qty_base,
            client_order_id=order.client_order_id,
            price=order.price,
            trigger_price=order.trigger_price,
        )
        try:
            # A refusal is a RejectedError: journaled REJECTED below, never sent.
            await self.guard.admit(order, self.exchange, self.store, self.clock.now())
            report = await self.exchange.create_order(request)
        except (OutcomeUnknownError, ExchangeUnavailableError) as e:
            apply_event(order, OrderEvent.TIME_OUT)
            order.note = f"outcome unknown: {e}"
            await self._journal(order)
            order = await self.resolve(order)
            if then is not None:
                await then()
            return order
        except (RejectedError, FatalError) as e:
            apply_event(order, OrderEvent.REJECT)
            order.note = f"{type(e).__name__}: {e}"
            order.updated_at = self.clock.now()
            await self._save(order, then)
            return order
        self._checkpoint("sent", order)
        apply_report(order, report, self.clock.now())
        await self._save(order, then)
        return order

    async def resolve(self, order: OrderRecord) -> OrderRecord:
        """Settle an unknown outcome by the client id; stays UNKNOWN if the lookup itself fails."""
        if order.state not in UNRESOLVED:
            return order
        try:
            report = await self.exchange.fetch_order_by_client_id(order.symbol, order.client_order_id)
        except (ExchangeUnavailableError, OutcomeUnknownError) as e:
            if order.state is OrderState.SUBMITTED:
                apply_event(order, OrderEvent.TIME_OUT)
            order.note = f"lookup failed: {e}"
            await self._journal(order)
            return order
        now = self.clock.now()
        if report is None:
            sent_at = order.updated_at or order.created_at
            if order.state is not OrderState.NEW and now - sent_at < ABSENT_AFTER:
                # A delayed request can still land until the venue's receive window has passed.
                if order.state is OrderState.SUBMITTED:
                    apply_event(order, OrderEvent.TIME_OUT)
                    order.updated_at = now
                order.note = "not on the venue yet: looked up again next pass"
                await self._journal(order)
                return order
            apply_event(order, OrderEvent.NOT_FOUND)
            order.note = "not on the venue: never received"
            order.updated_at = now
        else:
            if order.state is OrderState.NEW:
                apply_event(order, OrderEvent.SUBMIT)
            apply_report(order, report, now)
        await self._journal(order)
        return order

    async def refresh_all(self, orders: list[OrderRecord]) -> None:
        """Refresh unsettled orders of one symbol with one open-orders read (conditional orders only
        when a stop is among them); only orders that are no longer open are looked up one by one."""
        pending = [o for o in orders if o.state not in TERMINAL]
        if not pending:
            return
        stops = any(o.type is OrderType.STOP_MARKET for o in pending)
        listed = await self.exchange.fetch_open_orders(pending[0].symbol, stop_orders=stops)
        open_now = {r.client_order_id: r for r in listed}
        for order in pending:
            report = open_now.get(order.client_order_id)
            if report is None or order.state in UNRESOLVED:
                await self.refresh(order)
                continue
            before = (order_facts(order), order.note)
            if apply_report(order, report, self.clock.now()):
                if order.note.startswith(MISSING):
                    order.note = ""
                if (order_facts(order), order.note) != before:  # nothing new from the venue: no write
                    await self._journal(order)

    async def refresh(self, order: OrderRecord) -> OrderRecord:
        """Bring a live or unresolved order up to date from the venue."""
        if order.state in UNRESOLVED:
            return await self.resolve(order)
        if order.state in TERMINAL:
            return order
        report = await self.exchange.fetch_order_by_client_id(order.symbol, order.client_order_id)
        now = self.clock.now()
        if report is None:
            # A missing report is not proof: conclude only when it is still missing a while later.
            if not order.note.startswith(MISSING):
                order.note = f"{MISSING} since {now.isoformat()}"
                order.updated_at = now
                await self._journal(order)
            elif now - (order.updated_at or now) >= MISSING_FOR:
                await self._gone(order)
        elif apply_report(order, report, now):
            if order.note.startswith(MISSING):
                order.note = ""
            await self._journal(order)
        return order

    async def _gone(self, order: OrderRecord) -> None:
        """A live order that is neither open nor among the venue's filled orders was canceled (by us, an
        expiry or the user); its executions, if any, are read from the fills so none is lost."""
        fills = []
        if order.exchange_order_id is not None:
            fills = [
                f
                for f in await self.exchange.fetch_fills(order.symbol, to_ms(order.created_at) - 60_000)
                if f.exchange_order_id == order.exchange_order_id
            ]
        if apply_gone(order, fills, self.clock.now()):
            await self._journal(order)

    async def cancel(self, order: OrderRecord) -> OrderRecord:
        """Cancel and then read back the final state (fills that raced the cancel are kept)."""
        self.changes += 1
        order = await self.refresh(order)
        if (
            order.state not in (OrderState.OPEN, OrderState.PARTIALLY_FILLED)
            or order.exchange_order_id is None
        ):
            return order
        with contextlib.suppress(OrderNotFoundError):  # already gone: the read-back says why
            await self.exchange.cancel_order(order.symbol, order.exchange_order_id)
        report = await self.exchange.fetch_order_by_client_id(order.symbol, order.client_order_id)
        if report is None:
            await self._gone(order)
        else:
            apply_report(order, report, self.clock.now())
            await self._journal(order)
        return order
