"""Fixtures for the simulator's unit tests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from simulator_market import STEP, T0, Candle, MakeExchange, write_market

from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.fill_model import BookModel, FillModel


@pytest.fixture
def make_exchange(tmp_path: Path) -> MakeExchange:
    """`make_exchange(candles, participation=..., start_index=...)` -> a venue at that candle's open,
    with account "a" holding 10 000 USDT and 10 BTC."""

    def make(
        candles: list[Candle],
        *,
        participation: str = "1",
        start_index: int = 0,
        level_notional: str = "1000",
    ) -> SimulatedExchange:
        source = write_market(tmp_path, candles)
        ex = SimulatedExchange(
            source,
            start_ms=T0 + start_index * STEP,
            book=BookModel(level_notional=Decimal(level_notional)),
            fills=FillModel(participation=Decimal(participation)),
        )
        ex.open_account("a", {"USDT": Decimal(10_000), "BTC": Decimal(10)})
        return ex

    return make
