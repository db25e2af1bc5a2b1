"""Decision records' pure parts: candle chunks round-trip bit for bit, and a gate context with
non-finite numbers is strict JSON that replays to the same 16 results."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import numpy as np

from qari.core.market import CandleSeries
from qari.decisions import (
    CHUNK,
    chunks,
    gate_inputs,
    gate_results_json,
    pack_candles,
    replay_gate,
    unpack_candles,
)
from qari.risk.context import GateContext
from qari.risk.gate import evaluate_gate

HOUR = 3_600_000


def _series(n: int, first: int = 1000) -> CandleSeries:
    rng = np.random.default_rng(7)
    ts = (np.arange(first, first + n) * HOUR).astype(np.int64)
    close = 100 + rng.standard_normal(n).cumsum() / 3
    return CandleSeries(
        "SOL/USDT", "1h", ts, close * 0.999, close * 1.01, close * 0.99, close, rng.random(n) * 1e6
    )


def test_chunks_when_window_split_then_aligned_complete_and_exact() -> None:
    s = _series(501)
    window = s.window(500 - 320, 500)
    parts = chunks(s, window)
    back = [unpack_candles(s.symbol, s.timeframe, pack_candles(p)) for p in parts]

    joined = np.concatenate([b.ts for b in back])
    assert joined[-320:].tolist() == window.ts.tolist()  # the window, widened only backwards
    assert all(int(p.ts[0]) // (HOUR * CHUNK) == int(p.ts[-1]) // (HOUR * CHUNK) for p in parts)
    assert all(len(p) == CHUNK for p in parts[:-1])  # only the newest chunk may be partial
    for part, b in zip(parts, back, strict=True):
        for field in ("ts", "open", "high", "low", "close", "volume"):
            assert getattr(part, field).tobytes() == getattr(b, field).tobytes()
    # one candle later: every chunk but the newest was stored already
    later = chunks(s, s.window(501 - 320, 501))
    stored = {pack_candles(p) for p in parts}
    assert all(pack_candles(p) in stored for p in later[:-1])


def test_gate_inputs_when_closes_not_finite_then_strict_json_and_same_results() -> None:
    ctx = GateContext(
        now=dt.datetime(2024, 8, 8, tzinfo=dt.UTC),
        user_id=3,
        symbol="SOL/USDT",
        entry_price=Decimal("150.5"),
        stop_price=Decimal("130"),
        pt2_price=Decimal("210"),
        candidate_daily_closes=(float("nan"), 140.0, float("inf")),
        open_daily_closes={"ETH/USDT": (1.0, float("-inf"), 3.0)},
    )
    inputs = json.loads(json.dumps(gate_inputs(ctx), allow_nan=False))
    results = gate_results_json(evaluate_gate(ctx))

    replayed = replay_gate("u1", inputs, results)
    assert replayed.identical, replayed.differences
    assert replayed.notes == []
