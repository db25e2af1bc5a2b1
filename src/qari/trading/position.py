"""Position state machine: PENDING → OPEN → PT1_TAKEN → PT2_TAKEN → CLOSED (or EXPIRED / CANCELED).

PENDING: Leg 1 rests, nothing filled. OPEN: some quantity filled and a stop protects it; Leg 2 may be
reserved, sent or released. PT1_TAKEN: 40 % sold, stop at break-even. PT2_TAKEN: 30 % more sold, the
last 30 % trails below the latest 15m higher low. Leg 2 has its own small machine.
"""

from __future__ import annotations

from enum import StrEnum

from qari.trading.state_machine import TransitionTable


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
