"""Reconcile the journal with the venue: at start-up and once per cycle, per user and venue.

- Orders whose outcome is unknown (NEW/SUBMITTED/UNKNOWN, e.g. after a crash) are looked up by their
  client order id; found ones take the venue's state, confirmed-absent ones become ABSENT.
- Live orders are re-read, so fills that happened while the platform was down count (position
  quantities come from the orders' cumulative fills). The management pass does both, first thing for
  every position, so reconciliation does not read them a second time before it.
- A missing answer is never read as "flat" or "canceled": if the venue cannot be read, state stays.
- Venue orders carrying our client-id prefix that the journal does not know are reported as orphans.
- One management pass puts the stop back on anything filled and applies expiries and exits; then the
  venue's executions are copied into the journal (idempotent) for every position that was open.
- Balances: a venue holding less of a position's coin than the journal says is reported; exits and
  the stop are capped at what the venue holds, so they never fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from qari.core.errors import QariError, RetryableError
from qari.engine.execution import UserExecution
from qari.risk.guard import VenueActivity
from qari.risk.profile import TradingProfile
from qari.trading.order import TERMINAL
from qari.trading.records import PositionRecord


@dataclass(slots=True)
class ReconcileReport:
    positions: int = 0
    orders_checked: int = 0
    fills_booked: int = 0
    orphans: list[str] = field(default_factory=list)
    shortfalls: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    halts: list[str] = field(default_factory=list)  # new blast-radius guard halts (qari.engine.guard)


async def reconcile(
    execution: UserExecution, profile: TradingProfile, positions: list[PositionRecord] | None = None
) -> ReconcileReport:
    """`positions`: the user's open positions on the venue as the caller just read them (else read)."""
    report = ReconcileReport()
    now = execution.clock.now()
    if positions is None:
        positions = await execution.store.open_positions(profile.user_id, profile.exchange_id)
    report.positions = len(positions)
    known: set[str] = set()
    for position in positions:
        assert position.id is not None
        orders = await execution.store.orders_for(position.id)
        known.update(o.client_order_id for o in orders)
        report.orders_checked += sum(1 for o in orders if o.state not in TERMINAL)
    rules = execution.config.client_id_rules(profile.exchange_id)
    prefix = rules.owner_prefix(execution.config.namespace, profile.user_id)
    try:
        venue_orders = await execution.exchange.fetch_open_orders(None)
        for venue_order in venue_orders:
            cid = venue_order.client_order_id or ""
            if cid.startswith(prefix) and cid not in known:
                report.orphans.append(cid)
        # An order QARI did not make on this key: the guard halts the key (and alerts).
        seen = [
            VenueActivity(profile.user_id, profile.exchange_id, o.symbol, o.side, o.client_order_id, now)
            for o in venue_orders
        ]
        halts = await execution.orders.guard.observe(seen, known, execution.store, now, prefixes=(prefix,))
        report.halts.extend(h.reason for h in halts)
    except QariError as e:
        report.deferred.append(f"open orders: {e}")
    # Refreshes every position's orders before anything else; the positions as read above (nothing
    # since has written one), each a fresh copy that management may change.
    await execution.manage(profile, positions)
    for position in positions:
        try:
            report.fills_booked += await execution.book_fills(position)
        except RetryableError as e:
            report.deferred.append(f"{position.symbol}: {e}")
    try:
        balances = await execution.exchange.fetch_balances()
        for position in await execution.store.open_positions(profile.user_id, profile.exchange_id):
            venue = balances.get(position.base)
            held_on_venue = Decimal(0) if venue is None else venue.total
            if position.held_qty > 0 and held_on_venue < position.held_qty:
                report.shortfalls.append(
                    f"{position.symbol}: journal {position.held_qty}, venue {held_on_venue}"
                )
    except RetryableError as e:
        report.deferred.append(f"balances: {e}")
    return report
