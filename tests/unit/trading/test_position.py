"""Position and Leg 2 machines, table-driven over every pair."""

from __future__ import annotations

import itertools

import pytest

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
from qari.trading.state_machine import InvalidTransition

P, V = PositionState, PositionEvent
LEGAL = {
    (P.PENDING, V.LEG1_FILLED): P.OPEN,
    (P.PENDING, V.LEG1_EXPIRED): P.EXPIRED,
    (P.PENDING, V.ENTRY_REJECTED): P.CANCELED,
    (P.OPEN, V.LEG1_FILLED): P.OPEN,
    (P.OPEN, V.LEG1_EXPIRED): P.OPEN,
    (P.OPEN, V.LEG2_FILLED): P.OPEN,
    (P.OPEN, V.PT1_HIT): P.PT1_TAKEN,
    (P.PT1_TAKEN, V.PT2_HIT): P.PT2_TAKEN,
    **{(s, V.STOP_HIT): P.CLOSED for s in (P.OPEN, P.PT1_TAKEN, P.PT2_TAKEN)},
    **{(s, V.STOP_MOVED): s for s in (P.OPEN, P.PT1_TAKEN, P.PT2_TAKEN)},
    **{(s, V.CLOSED_OUT): P.CLOSED for s in (P.OPEN, P.PT1_TAKEN, P.PT2_TAKEN)},
}


@pytest.mark.parametrize(("state", "event"), list(itertools.product(PositionState, PositionEvent)))
def test_position_transition_when_pair_given_then_table_decides(
    state: PositionState, event: PositionEvent
) -> None:
    if (state, event) in LEGAL:
        assert POSITION_TRANSITIONS.next(state, event) is LEGAL[(state, event)]
    else:
        with pytest.raises(InvalidTransition):
            POSITION_TRANSITIONS.next(state, event)


LEG2_LEGAL = {
    (Leg2State.RESERVED, Leg2Event.SEND): Leg2State.SENT,
    (Leg2State.RESERVED, Leg2Event.RELEASE): Leg2State.RELEASED,
    (Leg2State.SENT, Leg2Event.FILL): Leg2State.FILLED,
    (Leg2State.SENT, Leg2Event.RELEASE): Leg2State.RELEASED,
}


@pytest.mark.parametrize(("state", "event"), list(itertools.product(Leg2State, Leg2Event)))
def test_leg2_transition_when_pair_given_then_table_decides(state: Leg2State, event: Leg2Event) -> None:
    if (state, event) in LEG2_LEGAL:
        assert LEG2_TRANSITIONS.next(state, event) is LEG2_LEGAL[(state, event)]
    else:
        with pytest.raises(InvalidTransition):
            LEG2_TRANSITIONS.next(state, event)


def test_exit_reason_when_stop_fires_then_named_by_phase() -> None:
    assert exit_reason_for_stop(P.OPEN) is ExitReason.STOP_LOSS
    assert exit_reason_for_stop(P.PT1_TAKEN) is ExitReason.BREAK_EVEN
    assert exit_reason_for_stop(P.PT2_TAKEN) is ExitReason.TRAILING_STOP
