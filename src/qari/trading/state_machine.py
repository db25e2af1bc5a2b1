"""A transition table that rejects every move it does not list (ARCHITECTURE rule 4)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


class InvalidTransition(Exception):
    def __init__(self, machine: str, state: StrEnum, event: StrEnum) -> None:
        super().__init__(f"{machine}: event {event.value!r} is not allowed in state {state.value!r}")
        self.state = state
        self.event = event


class TransitionTable(Generic[S, E]):
    def __init__(self, name: str, table: Mapping[tuple[S, E], S]) -> None:
        self.name = name
        self._table = dict(table)

    def next(self, state: S, event: E) -> S:
        try:
            return self._table[(state, event)]
        except KeyError:
            raise InvalidTransition(self.name, state, event) from None

    def allows(self, state: S, event: E) -> bool:
        return (state, event) in self._table

    @property
    def pairs(self) -> frozenset[tuple[S, E]]:
        return frozenset(self._table)
