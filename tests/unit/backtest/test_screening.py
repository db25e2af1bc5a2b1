"""The backtester's swept screen: ruled-out steps get an empty screened verdict without analysis,
everything else (possible steps, times off the grid, symbols without a bound) is analysed; and the
replay feed's snapshots are what `build_snapshots` makes."""

from __future__ import annotations

import numpy as np

from qari.analysis.engine import Verdict, analyse
from qari.backtest.feed import ReplayMarketFeed
from qari.backtest.screening import SweptScreen, sweep_snapshots
from qari.core.market import CandleSeries, MarketSnapshot
from qari.market.snapshots import build_snapshots

T0 = 1_704_067_200_000
STEP = 900_000


def _series(symbol: str, timeframe: str, step: int, n: int, seed: int) -> CandleSeries:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) * 1.002
    low = np.minimum(open_, close) * 0.998
    ts = T0 + step * np.arange(n, dtype=np.int64)
    return CandleSeries(symbol, timeframe, ts, open_, high, low, close, rng.gamma(2.0, 50.0, n))


def _market() -> dict[str, dict[str, CandleSeries]]:
    return {
        symbol: {
            "15m": _series(symbol, "15m", STEP, 3000, seed),
            "4h": _series(symbol, "4h", 16 * STEP, 190, seed + 1),
            "1d": _series(symbol, "1d", 96 * STEP, 32, seed + 2),
        }
        for seed, symbol in enumerate(("BTC/USDT", "ALT/USDT"))
    }


class Counting:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, snapshot: MarketSnapshot) -> Verdict:
        self.calls.append((snapshot.symbol, snapshot.at_ms))
        return analyse(snapshot)


def test_swept_screen_when_step_ruled_out_then_empty_verdict_without_analysis() -> None:
    counting = Counting()
    swept = SweptScreen({"ALT/USDT": np.array([True, False])}, T0, STEP, counting)
    snap = build_snapshots(_market(), T0 + 2000 * STEP)["ALT/USDT"]

    ruled_out = swept(MarketSnapshot("ALT/USDT", T0 + STEP, snap.series, context=snap.context))

    assert ruled_out == Verdict("ALT/USDT", T0 + STEP, (), 0.0, 0, (), None, screened=True)
    assert counting.calls == []


def test_swept_screen_when_possible_off_grid_or_unknown_then_analysed() -> None:
    counting = Counting()
    swept = SweptScreen({"ALT/USDT": np.array([True, False])}, T0, STEP, counting)
    snaps = build_snapshots(_market(), T0 + 2000 * STEP)
    asked = [
        ("ALT/USDT", T0),  # possible
        ("ALT/USDT", T0 + STEP + 1),  # off the grid
        ("ALT/USDT", T0 + 2 * STEP),  # past the bounded period
        ("BTC/USDT", T0 + STEP),  # no bound
    ]
    for symbol, at in asked:
        snap = snaps[symbol]
        swept(MarketSnapshot(symbol, at, snap.series, context=snap.context))

    assert counting.calls == asked


def test_sweep_snapshots_when_pooled_then_same_bounds_as_inline() -> None:
    feed = ReplayMarketFeed("sandbox", _market(), ("BTC/USDT", "ALT/USDT"))
    end = T0 + 2999 * STEP
    templates = feed.snapshots_at(end)

    inline = sweep_snapshots(templates, T0 + 400 * STEP, end, STEP, workers=1)
    pooled = sweep_snapshots(templates, T0 + 400 * STEP, end, STEP, workers=2)

    assert inline.possible.keys() == pooled.possible.keys() == {"BTC/USDT", "ALT/USDT"}
    for symbol, steps in inline.possible.items():
        assert steps.shape == (2600,)
        assert np.array_equal(steps, pooled.possible[symbol])


def test_replay_feed_when_no_context_then_snapshots_as_build_snapshots_makes_them() -> None:
    market = _market()
    feed = ReplayMarketFeed("sandbox", market, ("ALT/USDT", "BTC/USDT"))

    for at in (T0 + 100 * STEP, T0 + 2500 * STEP):
        fast, built = feed.snapshots_at(at), build_snapshots(market, at)
        assert list(fast) == list(built) == ["ALT/USDT", "BTC/USDT"]
        for symbol, snap in fast.items():
            other = built[symbol]
            assert (snap.symbol, snap.at_ms, snap.book, snap.ticker) == (symbol, at, None, None)
            assert snap.series.keys() == other.series.keys()
            assert all(snap.series[tf] is other.series[tf] for tf in snap.series)
            assert snap.context.btc is not None and other.context.btc is not None
            assert all(snap.context.btc[tf] is other.context.btc[tf] for tf in other.context.btc)
