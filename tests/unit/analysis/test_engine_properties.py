"""Whatever the candles, the engine returns a well-formed verdict (no exception, values in range)."""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.builders import T0
from qari.analysis.engine import Vote, analyse
from qari.analysis.primitives import indicators
from qari.core.market import CandleSeries, MarketContext, MarketSnapshot


def _series(seed: int, n: int, flat: bool, zero_volume: bool) -> CandleSeries:
    rng = np.random.default_rng(seed)
    steps = np.zeros(n) if flat else rng.normal(0, 0.02, n)
    close = 10.0 * np.exp(np.cumsum(steps))
    open_ = np.concatenate(([close[0]], close[:-1])) if n else close
    spread = np.abs(rng.normal(0, 0.01, n)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread * 0.9
    volume = np.zeros(n) if zero_volume else rng.gamma(2.0, 50.0, n)
    ts = T0 + 900_000 * np.arange(n, dtype=np.int64)
    return CandleSeries("RND/USDT", "15m", ts, open_, high, low, close, volume)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 400),
    flat=st.booleans(),
    zero_volume=st.booleans(),
    fear_greed=st.none() | st.floats(0, 100),
    funding=st.none() | st.floats(-0.01, 0.01),
)
def test_analyse_when_any_candles_then_well_formed_verdict(
    seed: int, n: int, flat: bool, zero_volume: bool, fear_greed: float | None, funding: float | None
) -> None:
    s = _series(seed, n, flat, zero_volume)
    at_ms = T0 + 900_000 * n + 1
    snap = MarketSnapshot("RND/USDT", at_ms, {"15m": s}, context=MarketContext(funding, None, fear_greed))

    v = analyse(snap)

    assert [r.layer for r in v.layers] == list(range(1, 12))
    assert 0.0 <= v.score <= 1.0
    for r in v.layers:
        assert r.vote in set(Vote)
        assert 0.0 <= r.score <= 1.0
        assert r.explanation
        json.dumps(r.evidence, allow_nan=False)
    if v.candidate is not None:
        c = v.candidate
        assert c.stop < c.entry_low <= c.entry_high < c.pt1 < c.pt2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=120))
def test_median_when_any_values_then_bit_for_bit_numpy(values: list[float]) -> None:
    x = np.asarray(values, dtype=np.float64)
    expected = float(np.median(x))

    got = indicators.median(x)

    assert (math.isnan(got) and math.isnan(expected)) or got == expected
