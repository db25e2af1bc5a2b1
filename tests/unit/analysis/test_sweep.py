"""`analysis.sweep` bounds `screen` soundly: wherever it rules a step out there is no candidate, and
each layer's bound admits the vote the real layer gives; its vectorised confluence bound is
`CandidateBound`'s."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.builders import T0
from analysis.sweep_support import check_steps
from qari.analysis import sweep
from qari.analysis.confluence import CandidateBound
from qari.analysis.layer import LayerResult, Vote
from qari.analysis.layers import LAYERS, indicators, vwap
from qari.analysis.primitives.liquidity import sfp_quality
from qari.analysis.primitives.order_blocks import block_quality
from qari.analysis.primitives.resample import resample
from qari.analysis.weights import LAYER_CODES, WeightSet, stage1
from qari.core.market import CandleSeries, MarketContext, MarketSnapshot, OrderBook

STEP = 900_000


def market(seed: int, n: int, *, spikes: float, trend: float, flat_volume: bool) -> CandleSeries:
    """A 15m random walk in trending legs, with sweeps below recent lows, impulsive candles and volume
    bursts: the shapes SFPs, order blocks and gaps are made of."""
    rng = np.random.default_rng(seed)
    legs = np.repeat(rng.normal(0.0, trend, n // 40 + 1), 40)[:n]
    steps = legs + rng.normal(0.0, 0.004, n)
    impulse = rng.random(n) < spikes
    steps[impulse] += rng.choice([-1.0, 1.0], impulse.sum()) * rng.uniform(0.01, 0.04, impulse.sum())
    close = 100.0 * np.exp(np.cumsum(steps))
    open_ = np.concatenate(([close[0]], close[:-1]))
    wick = np.abs(rng.normal(0.0, 0.002, n)) * close
    sweep_down = rng.random(n) < spikes
    low = np.minimum(open_, close) - wick - sweep_down * rng.uniform(0.005, 0.03, n) * close
    high = np.maximum(open_, close) + wick * rng.uniform(0.2, 1.5, n)
    burst = 1.0 + 4.0 * (impulse | sweep_down)
    volume = np.full(n, 50.0) if flat_volume else rng.gamma(2.0, 50.0, n) * burst
    ts = T0 + STEP * np.arange(n, dtype=np.int64)
    return CandleSeries("ALT/USDT", "15m", ts, open_, high, low, close, volume)


def _frames(s: CandleSeries) -> dict[str, CandleSeries]:
    return {"15m": s, "4h": resample(s, "4h"), "1d": resample(s, "1d")}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 100_000),
    n=st.integers(200, 1500),
    spikes=st.floats(0.0, 0.15),
    trend=st.floats(0.0, 0.01),
    flat_volume=st.booleans(),
    with_btc=st.booleans(),
    sentiment=st.booleans(),
    picks=st.lists(st.integers(0, 10_000), min_size=10, max_size=30),
)
def test_sweep_when_synthetic_markets_then_bounds_admit_every_real_vote(
    seed: int,
    n: int,
    spikes: float,
    trend: float,
    flat_volume: bool,
    with_btc: bool,
    sentiment: bool,
    picks: list[int],
) -> None:
    alt = market(seed, n, spikes=spikes, trend=trend, flat_volume=flat_volume)
    btc = market(seed + 1, n, spikes=spikes, trend=trend, flat_volume=False)
    context = MarketContext(
        funding_rate=-0.001 if sentiment else None,
        fear_greed=20.0 if sentiment else None,
        btc=_frames(btc) if with_btc else None,
    )
    book = OrderBook("ALT/USDT", bids=(), asks=()) if sentiment else None
    template = MarketSnapshot("ALT/USDT", 0, _frames(alt), book=book, context=context)
    times = sorted({int(alt.ts[0]) + STEP * (1 + p % n) for p in picks})

    check_steps(template, times)


def test_sweep_when_steps_have_no_entry_frame_then_ruled_out() -> None:
    alt = market(1, 100, spikes=0.1, trend=0.005, flat_volume=False)
    template = MarketSnapshot("ALT/USDT", 0, _frames(alt))
    times = np.asarray(int(alt.ts[0]) + STEP * np.arange(1, 29), dtype=np.int64)  # under 30 closed candles

    assert not sweep.candidate_steps(template, times).any()
    assert not sweep.candidate_steps(MarketSnapshot("ALT/USDT", 0, {"4h": alt}), times).any()


_VOTES = st.sampled_from([Vote.AGREE, Vote.NEUTRAL, Vote.AGAINST, Vote.ABSTAIN])
_STATE = st.sampled_from(["exact", "open", "capped"])


@settings(max_examples=300, deadline=None)
@given(
    layers=st.lists(st.tuples(_STATE, _VOTES, st.floats(0.0, 1.0)), min_size=11, max_size=11),
    threshold=st.floats(0.0, 1.0),
    min_agreeing=st.integers(3, 6),
)
def test_possible_when_exact_open_or_capped_layers_then_candidate_bound_says_the_same(
    layers: list[tuple[str, Vote, float]], threshold: float, min_agreeing: int
) -> None:
    weights = WeightSet("t", stage1().points, threshold, min_agreeing, max(5, min_agreeing))
    scalar = CandidateBound(weights)
    bounds: dict[int, sweep.Bound] = {}
    for code, (state, vote, score) in zip(LAYER_CODES, layers, strict=True):
        if state == "exact":
            scalar.add(LayerResult(code, "x", vote, score))
            kind = {Vote.AGREE: sweep.AGREE, Vote.NEUTRAL: sweep.NEUTRAL, Vote.AGAINST: sweep.AGAINST}
            bounds[code] = sweep.Bound(np.array([kind.get(vote, sweep.ABSTAIN)], np.int8), np.array([score]))
        elif state == "capped":
            scalar.cannot_agree(code)
            bounds[code] = sweep.Bound.fill(sweep.ABSTAIN, 1)
        else:
            bounds[code] = sweep.Bound.fill(sweep.OPEN, 1)

    assert bool(sweep.possible(bounds, weights)[0]) == scalar.possible()


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.floats(-5, 5), st.floats(-1, 2), st.floats(0, 10), st.booleans(), st.booleans()),
        min_size=1,
        max_size=20,
    )
)
def test_quality_formulas_when_arrays_then_bit_for_bit_the_scalar_ones(
    values: list[tuple[float, float, float, bool, bool]],
) -> None:
    a, b, c, gap, aligned = (np.array(column) for column in zip(*values, strict=True))
    sfp = sfp_quality(a, b, c, lo=np.minimum, hi=np.maximum)
    block = block_quality(a, c, gap, aligned, lo=np.minimum, hi=np.maximum)
    for i, (x, y, z, g, al) in enumerate(values):
        assert sfp[i] == sfp_quality(x, y, z)
        assert block[i] == block_quality(x, z, g, al)


def test_layer_bounds_when_listed_then_each_layer_module_owns_its_bound_beside_evaluate() -> None:
    for layer in LAYERS:
        module = sys.modules[type(layer).__module__]
        assert callable(getattr(module, "bound", None)), f"{module.__name__} has no bound"


def test_layer_bounds_when_a_layer_constant_changes_then_the_sweep_follows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rule is written once: the sweep reads the layer's own constants, not copies of them."""
    alt = market(7, 900, spikes=0.08, trend=0.004, flat_volume=False)
    template = MarketSnapshot("ALT/USDT", 0, _frames(alt))
    times = np.asarray(int(alt.ts[0]) + STEP * np.arange(200, 900), dtype=np.int64)
    _, before = sweep.layer_bounds(template, times)

    monkeypatch.setattr(vwap, "AGREE_SCORE", 0.3)
    monkeypatch.setattr(indicators, "FAST_EMA", 5)
    _, after = sweep.layer_bounds(template, times)

    assert np.allclose(after[vwap.CODE].score, 0.3 + sweep.SCORE_ROUNDING)
    assert not np.array_equal(before[indicators.CODE].kind, after[indicators.CODE].kind)
