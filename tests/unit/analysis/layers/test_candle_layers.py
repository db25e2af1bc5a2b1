"""Volume, indicators and VWAP on hand-built candles."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.builders import candles, path, snapshot
from qari.analysis.context import AnalysisContext
from qari.analysis.layer import Vote
from qari.analysis.layers.indicators import Indicators
from qari.analysis.layers.volume import Volume
from qari.analysis.layers.vwap import Vwap
from qari.analysis.primitives import indicators
from qari.core.market import CandleSeries

UP = path(100, 110, 105, 115, 110, 120, 114, 124, 118, 128, steps=8)


def _volumes(s: CandleSeries, up: float, down: float, last_leg: float | None = None) -> CandleSeries:
    vol = np.where(s.close >= s.open, up, down)
    if last_leg is not None:
        vol[-8:] = last_leg
    return CandleSeries(s.symbol, s.timeframe, s.ts, s.open, s.high, s.low, s.close, vol)


def test_volume_when_buying_volume_leads_then_agree() -> None:
    r = Volume().evaluate(AnalysisContext(snapshot(_volumes(candles(UP), 200.0, 100.0, last_leg=400.0))))

    assert r.vote == Vote.AGREE
    assert r.evidence["up_down_volume_ratio"] > 1.2
    assert r.evidence["cvd"] is None


def test_volume_when_selling_volume_dominates_then_against() -> None:
    r = Volume().evaluate(AnalysisContext(snapshot(_volumes(candles(UP), 50.0, 400.0))))

    assert r.vote == Vote.AGAINST


def test_indicators_when_straight_rally_then_overbought_against() -> None:
    r = Indicators().evaluate(AnalysisContext(snapshot(candles(path(100, 160, steps=80)))))

    assert r.vote == Vote.AGAINST
    assert r.evidence["rsi"] >= 70


def test_indicators_when_too_few_candles_then_abstain() -> None:
    assert (
        Indicators().evaluate(AnalysisContext(snapshot(candles(path(100, 110, steps=35))))).vote
        == Vote.ABSTAIN
    )


def test_vwap_when_price_above_session_and_anchored_vwap_then_agree() -> None:
    r = Vwap().evaluate(AnalysisContext(snapshot(candles(UP))))

    assert r.vote == Vote.AGREE
    assert r.evidence["price"] > r.evidence["session_vwap"]
    assert r.evidence["price"] > r.evidence["anchored_vwap"]


def _ema_naive(x: np.ndarray, span: int) -> np.ndarray:
    a = 2.0 / (span + 1.0)
    out = np.empty_like(x)
    out[0] = x[0]
    for i in range(1, x.shape[0]):
        out[i] = a * x[i] + (1 - a) * out[i - 1]
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=1e-6, max_value=1e6), min_size=1, max_size=400),
    st.sampled_from([2, 9, 12, 26, 50, 200]),
)
def test_ema_when_any_positive_series_then_matches_recursive_definition(
    values: list[float], span: int
) -> None:
    x = np.asarray(values)

    np.testing.assert_allclose(indicators.ema(x, span), _ema_naive(x, span), rtol=1e-9, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=1e5), min_size=2, max_size=300))
def test_rsi_when_any_series_then_within_0_and_100(values: list[float]) -> None:
    r = indicators.rsi(np.asarray(values))

    assert np.all((r >= 0.0) & (r <= 100.0))
