from __future__ import annotations

import numpy as np

from analysis.builders import T0, candles, path, snapshot
from qari.analysis.context import AnalysisContext
from qari.analysis.layers import LAYERS
from qari.analysis.primitives.resample import resample

H = 3_600_000


def test_layers_when_listed_then_eleven_in_canonical_order_with_unique_names() -> None:
    assert [layer.code for layer in LAYERS] == list(range(1, 12))
    assert len({layer.name for layer in LAYERS}) == 11


def test_context_when_only_1h_given_then_4h_and_1d_resampled_from_recent_history_identically() -> None:
    closes = path(100, 140, 90, 160, 120, steps=1000)
    hourly = candles(closes, timeframe="1h", step_ms=H, wick=0.5)
    at_ms = T0 + 3_000 * H + 17 * 60_000

    ctx = AnalysisContext(snapshot(hourly, at_ms=at_ms))

    expected = resample(hourly.upto(at_ms - H), "4h").tail(200)
    assert ctx.h4 is not None and ctx.d1 is not None
    np.testing.assert_array_equal(ctx.h4.ts, expected.ts)
    np.testing.assert_array_equal(ctx.h4.high, expected.high)
    np.testing.assert_array_equal(ctx.h4.open, expected.open)
    assert int(ctx.d1.ts[-1]) + 86_400_000 <= at_ms
