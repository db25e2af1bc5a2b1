"""Backtest market feed: the candle files as the exchange would have shown them at each cycle.

It plays the part `ExchangeMarketFeed` plays live: one refresh per cycle for the one simulated
exchange. Series are passed whole (the analysis cuts its fixed windows at `at_ms`, closed candles
only), so a refresh costs microseconds per symbol and sees exactly what the live feed's last N
candles would show. A pair is left out until each timeframe has a closed candle (not listed yet).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from qari.core.market import CandleSeries, MarketContext, MarketSnapshot
from qari.core.time import timeframe_ms, to_ms
from qari.market.snapshots import build_snapshots


class ReplayMarketFeed:
    def __init__(
        self,
        exchange_id: str,
        series: Mapping[str, Mapping[str, CandleSeries]],
        pairs: tuple[str, ...],
        *,
        context: Callable[[int], MarketContext] | None = None,
    ) -> None:
        self.exchange_id = exchange_id
        self.series = series
        self.pairs = pairs
        self.context = context
        self._listed_from = {
            symbol: max((int(s.ts[0]) + timeframe_ms(tf) for tf, s in by_tf.items() if len(s)), default=0)
            for symbol, by_tf in series.items()
        }

    async def refresh(self, at: dt.datetime) -> dict[str, MarketSnapshot]:
        return self.snapshots_at(to_ms(at))

    def snapshots_at(self, at_ms: int) -> dict[str, MarketSnapshot]:
        symbols = [s for s in self.pairs if self._listed_from.get(s, at_ms + 1) <= at_ms]
        context = self.context(at_ms) if self.context else None
        return build_snapshots(self.series, at_ms, symbols=symbols, context=context)
