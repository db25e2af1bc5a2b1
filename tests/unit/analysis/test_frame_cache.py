"""Higher-timeframe frames are reused across cycles only while their closed candles are identical."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.builders import T0
from qari.analysis import context
from qari.analysis.engine import analyse
from qari.core.market import CandleSeries, MarketSnapshot

STEPS = {"15m": 900_000, "4h": 14_400_000, "1d": 86_400_000}


def _series(rng: np.random.Generator, timeframe: str, n: int, end_ms: int) -> CandleSeries:
    close = 20.0 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    spread = np.abs(rng.normal(0, 0.01, n)) * close
    ts = end_ms - STEPS[timeframe] * np.arange(n, 0, -1, dtype=np.int64)
    high, low = np.maximum(open_, close) + spread, np.minimum(open_, close) - spread
    return CandleSeries("RND/USDT", timeframe, ts, open_, high, low, close, rng.gamma(2.0, 50.0, n))


def _snapshot(seed: int, at_ms: int) -> MarketSnapshot:
    rng = np.random.default_rng(seed)
    end = T0 + 400 * STEPS["15m"]
    series = {tf: _series(rng, tf, n, end) for tf, n in (("15m", 400), ("4h", 220), ("1d", 220))}
    return MarketSnapshot("RND/USDT", at_ms, series)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 5_000), back=st.integers(0, 40))
def test_analyse_when_frames_cached_then_same_verdict_as_fresh(seed: int, back: int) -> None:
    at_ms = T0 + (400 - back) * STEPS["15m"]
    context._htf_frames.clear()
    fresh = analyse(_snapshot(seed, at_ms))
    assert context._htf_frames, "the 4h and 1d frames were not cached"
    warm = [analyse(_snapshot(seed, at_ms - k * STEPS["15m"])) for k in (1, 0)][-1]
    assert warm == fresh


def test_frame_cache_when_candle_content_differs_then_not_reused() -> None:
    snap = _snapshot(3, T0 + 400 * STEPS["15m"])
    context._htf_frames.clear()
    first = context.AnalysisContext(snap).h4
    h4 = snap.series["4h"]
    changed = dataclasses.replace(h4, close=h4.close.copy())
    changed.close[-1] *= 1.5  # same times, different last close: a corrected candle
    again = context.AnalysisContext(dataclasses.replace(snap, series={**snap.series, "4h": changed})).h4
    same = context.AnalysisContext(snap).h4
    assert first is not None and again is not None
    assert again is not first and again.last != first.last
    assert same is first
