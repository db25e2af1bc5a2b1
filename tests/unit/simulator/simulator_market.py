"""A tiny replayed market written as a real freqtrade JSON file, so tests know every price."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.prices import CandleReplay

T0 = 1_704_067_200_000  # 2024-01-01, a Monday
STEP = 300_000

Candle = tuple[float, float, float, float, float]  # o, h, l, c, v


def write_market(tmp_path: Path, candles: list[Candle], symbol: str = "BTC_USDT") -> CandleReplay:
    rows = [[T0 + i * STEP, *c] for i, c in enumerate(candles)]
    (tmp_path / f"{symbol}-5m.json").write_text(json.dumps(rows))
    return CandleReplay.from_dir(tmp_path)


FLAT = [(100.0, 100.0, 100.0, 100.0, 1000.0)] * 12

MakeExchange = Callable[..., SimulatedExchange]
