"""Assemble `MarketSnapshot`s for many symbols at one time from series loaded once per exchange.

Series are passed whole: the analysis cuts each one at `at_ms` (closed candles only) itself, so one
loaded store serves every user and every step of a backtest without copies.
"""

from __future__ import annotations

from collections.abc import Mapping

from qari.core.market import CandleSeries, MarketContext, MarketSnapshot, OrderBook, Ticker

ANALYSIS_TIMEFRAMES = ("15m", "1h", "4h", "1d")
BTC_SYMBOL = "BTC/USDT"


def analysis_series(by_tf: Mapping[str, CandleSeries]) -> dict[str, CandleSeries]:
    """15m (or 1h where 15m is missing), 4h and 1d; the analysis resamples 4h/1d from 1h if absent."""
    out = {tf: by_tf[tf] for tf in ("15m", "4h", "1d") if tf in by_tf}
    if "15m" not in out and "1h" in by_tf:
        out["1h"] = by_tf["1h"]
    if ("4h" not in out or "1d" not in out) and "1h" in by_tf:
        out["1h"] = by_tf["1h"]
    return out


def build_snapshots(
    series: Mapping[str, Mapping[str, CandleSeries]],
    at_ms: int,
    *,
    symbols: list[str] | None = None,
    context: MarketContext | None = None,
    contexts: Mapping[str, MarketContext] | None = None,
    books: Mapping[str, OrderBook] | None = None,
    tickers: Mapping[str, Ticker] | None = None,
    btc_symbol: str = BTC_SYMBOL,
) -> dict[str, MarketSnapshot]:
    """One snapshot per symbol (sorted), sharing BTC's series as context for the altcoin vetoes.

    `context` is the market-wide part (fear & greed, dominance); `contexts` adds per-symbol parts
    (funding, open interest) on top of it.
    """
    base = context or MarketContext()
    btc = analysis_series(series[btc_symbol]) if btc_symbol in series else base.btc
    out: dict[str, MarketSnapshot] = {}
    for symbol in sorted(symbols if symbols is not None else series):
        by_tf = series.get(symbol)
        if not by_tf:
            continue
        own = contexts.get(symbol) if contexts else None
        ctx = MarketContext(
            funding_rate=own.funding_rate if own else base.funding_rate,
            open_interest=own.open_interest if own else base.open_interest,
            fear_greed=base.fear_greed,
            btc_dominance=base.btc_dominance,
            btc=btc,
            btc_dominance_ts=base.btc_dominance_ts,
        )
        out[symbol] = MarketSnapshot(
            symbol,
            at_ms,
            analysis_series(by_tf),
            book=books.get(symbol) if books else None,
            ticker=tickers.get(symbol) if tickers else None,
            context=ctx,
        )
    return out
