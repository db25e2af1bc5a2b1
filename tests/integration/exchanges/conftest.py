"""Fixtures for the exchange stand-ins (one aiohttp server per test, on a free loopback port)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from .standins.base import Standin
from .standins.registry import STANDINS

StartStandin = Callable[[str], Awaitable[Standin]]


@pytest.fixture
async def start_standin() -> AsyncIterator[StartStandin]:
    started: list[Standin] = []

    async def start(venue: str) -> Standin:
        standin = STANDINS[venue]()
        await standin.start()
        started.append(standin)
        return standin

    yield start
    for standin in started:
        await standin.stop()
