"""Position state machine: PENDING → OPEN → PT1_TAKEN → PT2_TAKEN → CLOSED (or EXPIRED / CANCELED),
and `Position`, the aggregate through which every state move and every P&L figure of a position goes.

PENDING: Leg 1 rests, nothing filled. OPEN: some quantity filled and a stop protects it; Leg 2 may be
reserved, sent or released. PT1_TAKEN: 40 % sold, stop at break-even. PT2_TAKEN: 30 % more sold, the
last 30 % trails below the latest 15m higher low. Leg 2 has its own small machine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from qari.core.instrument import InstrumentRules
from qari.core.orders import Side
from qari.trading.exits import break_even_stop, realised_r
from qari.trading.order import OrderRole
from qari.trading.state_machine import TransitionTable

if TYPE_CHECKING:
    from qari.trading.records import OrderRecord, PositionRecord

ZERO = Decimal(0)
QUOTE = "USDT"


class PositionState(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    PT1_TAKEN = "pt1_taken"
    PT2_TAKEN = "pt2_taken"
    CLOSED = "closed"
    EXPIRED = "expired"  # Leg 1 expired without any fill
    CANCELED = "canceled"  # Leg 1 rejected or never reached the venue before expiry


class PositionEvent(StrEnum):
    LEG1_FILLED = "leg1_filled"
    LEG1_EXPIRED = "leg1_expired"
    ENTRY_REJECTED = "entry_rejected"
    LEG2_FILLED = "leg2_filled"
    PT1_HIT = "pt1_hit"
    PT2_HIT = "pt2_hit"
    STOP_HIT = "stop_hit"
    STOP_MOVED = "stop_moved"
    CLOSED_OUT = "closed_out"  # remainder sold or only unsellable dust left


class Leg2State(StrEnum):
    RESERVED = "reserved"
    SENT = "sent"
    FILLED = "filled"
    RELEASED = "released"


class Leg2Event(StrEnum):
    SEND = "send"
    FILL = "fill"
    RELEASE = "release"


class ExitReason(StrEnum):
    STOP_LOSS = "stop_loss"
    BREAK_EVEN = "break_even"
    TRAILING_STOP = "trailing_stop"
    PT2_AND_TRAIL = "pt2_and_trail"
    LEG1_EXPIRED = "leg1_expired"
    ENTRY_REJECTED = "entry_rejected"
    DUST = "dust"
    MANUAL = "manual"  # the user closed it at market from the dashboard


OPEN_STATES = frozenset(
    {PositionState.PENDING, PositionState.OPEN, PositionState.PT1_TAKEN, PositionState.PT2_TAKEN}
)
FILLED_STATES = frozenset({PositionState.OPEN, PositionState.PT1_TAKEN, PositionState.PT2_TAKEN})

_P = PositionState
_V = PositionEvent


def _build() -> dict[tuple[PositionState, PositionEvent], PositionState]:
    table = {
        (_P.PENDING, _V.LEG1_FILLED): _P.OPEN,
        (_P.PENDING, _V.LEG1_EXPIRED): _P.EXPIRED,
        (_P.PENDING, _V.ENTRY_REJECTED): _P.CANCELED,
        (_P.OPEN, _V.LEG1_FILLED): _P.OPEN,
        (_P.OPEN, _V.LEG1_EXPIRED): _P.OPEN,
        (_P.OPEN, _V.LEG2_FILLED): _P.OPEN,
        (_P.OPEN, _V.PT1_HIT): _P.PT1_TAKEN,
        (_P.PT1_TAKEN, _V.PT2_HIT): _P.PT2_TAKEN,
    }
    for state in FILLED_STATES:
        table[(state, _V.STOP_HIT)] = _P.CLOSED
        table[(state, _V.STOP_MOVED)] = state
        table[(state, _V.CLOSED_OUT)] = _P.CLOSED
    return table


POSITION_TRANSITIONS: TransitionTable[PositionState, PositionEvent] = TransitionTable("position", _build())

LEG2_TRANSITIONS: TransitionTable[Leg2State, Leg2Event] = TransitionTable(
    "leg2",
    {
        (Leg2State.RESERVED, Leg2Event.SEND): Leg2State.SENT,
        (Leg2State.RESERVED, Leg2Event.RELEASE): Leg2State.RELEASED,
        (Leg2State.SENT, Leg2Event.FILL): Leg2State.FILLED,
        (Leg2State.SENT, Leg2Event.RELEASE): Leg2State.RELEASED,
    },
)


def exit_reason_for_stop(state: PositionState) -> ExitReason:
    """Name a stop exit by where the position stood when the stop fired."""
    if state is PositionState.PT2_TAKEN:
        return ExitReason.TRAILING_STOP
    if state is PositionState.PT1_TAKEN:
        return ExitReason.BREAK_EVEN
    return ExitReason.STOP_LOSS


STOP_REASONS = frozenset({ExitReason.STOP_LOSS, ExitReason.BREAK_EVEN, ExitReason.TRAILING_STOP})
_SETTLED_LEG2 = frozenset({Leg2State.FILLED, Leg2State.RELEASED})


def _order_time(order: OrderRecord) -> dt.datetime:
    return order.updated_at or order.created_at


@dataclass(slots=True)
class Position:
    """The one place a position's state moves and its money is worked out; the engine only decides
    *when* (it talks to the venue and the journal), this decides *what changes*.

    It wraps the `PositionRecord` the journal stores (ports and stores keep that plain shape), so the
    facts have one home: quantities, costs and P&L are derived here from the orders' cumulative fills.
    """

    record: PositionRecord

    # ---------------------------------------------------------------- state moves

    def apply(self, event: PositionEvent) -> PositionState:
        """Move the position through its table (`InvalidTransition` on a move it does not list)."""
        record = self.record
        record.state = POSITION_TRANSITIONS.next(record.state, event)
        return record.state

    def apply_leg2(self, event: Leg2Event) -> Leg2State:
        record = self.record
        record.leg2_state = LEG2_TRANSITIONS.next(record.leg2_state, event)
        return record.leg2_state

    def release_leg2(self) -> None:
        """Give up the Leg 2 reservation unless it is already settled (filled or released)."""
        if self.record.leg2_state not in _SETTLED_LEG2:
            self.apply_leg2(Leg2Event.RELEASE)

    def end_unfilled(self, event: PositionEvent, now: dt.datetime) -> None:
        """Leg 1 expired or was refused with nothing bought: the position ends, Leg 2 is released."""
        reason = {
            PositionEvent.LEG1_EXPIRED: ExitReason.LEG1_EXPIRED,
            PositionEvent.ENTRY_REJECTED: ExitReason.ENTRY_REJECTED,
        }[event]
        self.apply(event)
        self.release_leg2()
        self.record.exit_reason = reason.value
        self.record.closed_at = now

    def take_target(self, role: OrderRole, rules: InstrumentRules) -> None:
        """PT1 or PT2 sold: move on; after PT1 the stop goes to break-even (never down)."""
        record = self.record
        if role is OrderRole.PT1:
            self.apply(PositionEvent.PT1_HIT)
            assert record.blended_entry is not None
            record.stop_price = max(
                record.stop_price, break_even_stop(record.blended_entry, record.fee_rate, rules)
            )
        elif role is OrderRole.PT2:
            self.apply(PositionEvent.PT2_HIT)
        else:
            raise ValueError(f"{role.value} is not a target")

    def move_stop(self, stop: Decimal) -> None:
        self.record.stop_price = stop
        self.apply(PositionEvent.STOP_MOVED)

    # ---------------------------------------------------------------- money

    def recompute(self, orders: Iterable[OrderRecord]) -> bool:
        """Quantities, costs, fees and the blended entry from the orders' cumulative fills: idempotent,
        so a replay books nothing twice. True when the bought or sold quantity changed.

        One pass; each total adds the same terms in the same order as summing it alone would."""
        record = self.record
        before = (record.bought_qty, record.sold_qty)
        bought = sold = fee_base = cost = proceeds = quote_fees = base_fees_value = ZERO
        base = record.base
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
            if o.fee_currency == QUOTE:
                quote_fees += o.fee
        record.bought_qty = bought
        record.sold_qty = sold
        record.fee_base = fee_base
        record.cost_quote = cost
        record.proceeds_quote = proceeds
        record.fees_quote = quote_fees + base_fees_value
        # blended entry over the buys: their cost over their quantity (the same two sums)
        record.blended_entry = cost / bought if bought > 0 else None
        return (bought, sold) != before

    def realised_pnl(self, orders: Iterable[OrderRecord]) -> Decimal:
        """Proceeds less cost less the fees paid in USDT; fees paid in the coin already shrank what
        was sold, so they are not charged twice."""
        record = self.record
        return (
            record.proceeds_quote
            - record.cost_quote
            - sum((o.fee for o in orders if o.fee_currency == QUOTE), ZERO)
        )

    def unrealised_pnl(self, mark: Decimal) -> Decimal:
        """Marked to `mark`: the coins still held at the mark, plus proceeds, less cost and quote fees.

        Fees taken in the coin already shrink what is held, so they are not charged again: `fees_quote`
        counts them at their fill price, added back here at the entry price."""
        record = self.record
        entry = record.blended_entry or record.entry_price
        return (
            record.held_qty * mark
            + record.proceeds_quote
            - record.cost_quote
            - (record.fees_quote - record.fee_base * entry)
        )

    # ---------------------------------------------------------------- closing

    def exit_reason(self, orders: Iterable[OrderRecord]) -> ExitReason:
        """Why a position with nothing sellable left ended, from its last filled sell: a stop names
        where the position stood, PT2 means the trailed rest went too, anything else is dust."""
        last = max(
            (o for o in orders if o.side is Side.SELL and o.filled_base > 0),
            key=_order_time,
            default=None,
        )
        if last is not None and last.role is OrderRole.STOP:
            return exit_reason_for_stop(self.record.state)
        if last is not None and last.role is OrderRole.PT2:
            return ExitReason.PT2_AND_TRAIL
        return ExitReason.DUST

    def close(
        self, reason: ExitReason, orders: Iterable[OrderRecord], now: dt.datetime
    ) -> tuple[Decimal, Decimal]:
        """Close for `reason`: books realised P&L and R and moves to CLOSED (a stop reason counts as
        the stop hit). Returns the realised P&L in USDT and in R."""
        record = self.record
        pnl = self.realised_pnl(orders)
        r = realised_r(pnl, record.planned_r_quote)
        record.realised_pnl_quote = pnl
        record.realised_r = r
        record.exit_reason = reason.value
        record.closed_at = now
        self.apply(PositionEvent.STOP_HIT if reason in STOP_REASONS else PositionEvent.CLOSED_OUT)
        return pnl, r
