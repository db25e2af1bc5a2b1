"""The backtest's market feed: at every step, the snapshots the candle store gives as of that time."""

from __future__ import annotations

import numpy as np

from qari.backtest.feed import ReplayMarketFeed
from qari.core.market import CandleSeries, MarketContext, MarketSnapshot
from qari.market.snapshots import build_snapshots

T0 = 1_704_067_200_000
M15, H4, D1 = 900_000, 14_400_000, 86_400_000


def series(symbol: str, timeframe: str, step: int, first: int, n: int) -> CandleSeries:
    ts = first + np.arange(n, dtype=np.int64) * step
    price = np.linspace(100.0, 110.0, n)
    return CandleSeries(symbol, timeframe, ts, price, price + 1, price - 1, price, np.full(n, 5.0))


def market(symbol: str, first: int) -> dict[str, CandleSeries]:
    return {
        "15m": series(symbol, "15m", M15, first, 400),
        "4h": series(symbol, "4h", H4, first, 30),
        "1d": series(symbol, "1d", D1, first, 10),
    }


def same(got: MarketSnapshot, want: MarketSnapshot) -> bool:
    """Equal snapshots: same fields, the very same candle arrays (snapshots hold views, not copies)."""
    return (
        (got.symbol, got.at_ms, got.book, got.ticker) == (want.symbol, want.at_ms, want.book, want.ticker)
        and {tf: id(s) for tf, s in got.series.items()} == {tf: id(s) for tf, s in want.series.items()}
        and {tf: id(s) for tf, s in (got.context.btc or {}).items()}
        == {tf: id(s) for tf, s in (want.context.btc or {}).items()}
        and got.context.fear_greed == want.context.fear_greed
    )


def test_replay_feed_when_stepping_then_each_steps_snapshots_as_built_for_that_time() -> None:
    # Arrange: BTC from the start; NEW listed two days later
    store = {"BTC/USDT": market("BTC/USDT", T0), "NEW/USDT": market("NEW/USDT", T0 + 2 * D1)}
    feed = ReplayMarketFeed("sandbox", store, ("BTC/USDT", "NEW/USDT"))
    with_context = ReplayMarketFeed(
        "sandbox", store, ("BTC/USDT", "NEW/USDT"), context=lambda at: MarketContext(fear_greed=at % 7)
    )

    for at in (T0 + D1 + M15 * k for k in range(0, 400, 9)):
        # Act
        got = feed.snapshots_at(at)
        got_with_context = with_context.snapshots_at(at)

        # Assert
        listed = ["BTC/USDT", *(["NEW/USDT"] if at >= T0 + 3 * D1 else [])]
        want = build_snapshots(store, at, symbols=listed)
        assert list(got) == listed and all(same(got[s], want[s]) for s in listed), at
        want_with_context = build_snapshots(
            store, at, symbols=listed, context=MarketContext(fear_greed=at % 7)
        )
        assert all(same(got_with_context[s], want_with_context[s]) for s in listed), at
