from __future__ import annotations

import numpy as np

from analysis.builders import T0, candles, path
from qari.analysis.primitives.resample import resample
from qari.core.market import MarketContext
from qari.market.snapshots import build_snapshots

H = 3_600_000


def _hourly(n: int):
    return candles(path(100, 100 + n, steps=n - 1)[:n], timeframe="1h", step_ms=H)


def test_resample_when_1h_to_4h_then_ohlcv_aggregated_per_bucket() -> None:
    s = _hourly(12)

    h4 = resample(s, "4h")

    assert h4.ts.tolist() == [T0, T0 + 4 * H, T0 + 8 * H]
    assert h4.open[0] == s.open[0] and h4.close[0] == s.close[3]
    assert h4.high[1] == s.high[4:8].max() and h4.low[1] == s.low[4:8].min()
    assert h4.volume[2] == s.volume[8:12].sum()


def test_resample_when_last_bucket_incomplete_then_dropped() -> None:
    h4 = resample(_hourly(10), "4h")

    assert len(h4) == 2


def test_resample_when_not_a_multiple_then_value_error() -> None:
    import pytest

    with pytest.raises(ValueError, match="cannot resample"):
        resample(_hourly(10), "15m")


def test_build_snapshots_when_btc_present_then_shared_as_context_and_1h_fallback_used() -> None:
    btc = {"15m": candles(path(100, 110, steps=40), symbol="BTC/USDT")}
    alt_1h = candles(path(1, 2, steps=40), timeframe="1h", step_ms=H, symbol="ALT/USDT")
    series = {"BTC/USDT": btc, "ALT/USDT": {"1h": alt_1h}}
    context = MarketContext(fear_greed=40.0, btc_dominance=np.array([50.0, 51.0]))

    snaps = build_snapshots(series, T0 + 50 * H, context=context)

    assert list(snaps) == ["ALT/USDT", "BTC/USDT"]
    alt = snaps["ALT/USDT"]
    assert set(alt.series) == {"1h"}
    assert alt.context.btc is not None and alt.context.btc["15m"] is btc["15m"]
    assert alt.context.fear_greed == 40.0
    assert alt.context.btc_dominance is not None
