"""Context providers: data beyond spot candles that some layers read, each behind an interface.

    DerivativesProvider   funding rate and open-interest history (public perpetual data via ccxt)
    FearGreedProvider     the crypto fear & greed index (alternative.me)
    DominanceProvider     daily BTC dominance (file or any other source)

Every provider returns None when its source is unreachable or answers nonsense; the layer that needs
the value then abstains and says so — nothing is invented. `gather_context` runs once per exchange
per cycle and its result is shared by every user.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import ccxt.async_support as ccxt
import httpx
import numpy as np

from qari.core.market import FloatArray, MarketContext
from qari.market.dominance import DominanceFileError, DominanceSeries, load_dominance

log = logging.getLogger(__name__)

FEAR_GREED_URL = "https://api.alternative.me/fng/?limit=1"


class DerivativesProvider(Protocol):
    async def funding_rate(self, symbol: str) -> float | None: ...

    async def open_interest(self, symbol: str) -> FloatArray | None: ...


class FearGreedProvider(Protocol):
    async def fear_greed(self) -> float | None: ...


class DominanceProvider(Protocol):
    def dominance(self) -> DominanceSeries | None: ...


def perpetual_symbol(spot_symbol: str) -> str:
    """ "SOL/USDT" → "SOL/USDT:USDT" (ccxt's unified linear perpetual)."""
    base, quote = spot_symbol.split("/", 1)
    return f"{base}/{quote}:{quote}"


class CcxtDerivativesProvider:
    """Public perpetual data from a ccxt async exchange (e.g. `ccxt.binanceusdm()`); read-only, no keys."""

    def __init__(self, exchange: Any, oi_timeframe: str = "1h", oi_points: int = 24) -> None:
        self.exchange = exchange
        self.oi_timeframe = oi_timeframe
        self.oi_points = oi_points

    async def funding_rate(self, symbol: str) -> float | None:
        try:
            data = await self.exchange.fetch_funding_rate(perpetual_symbol(symbol))
            value = data.get("fundingRate")
            return float(value) if value is not None else None
        except (ccxt.BaseError, TypeError, ValueError) as e:
            log.info("funding rate unavailable for %s: %s", symbol, type(e).__name__)
            return None

    async def open_interest(self, symbol: str) -> FloatArray | None:
        try:
            rows = await self.exchange.fetch_open_interest_history(
                perpetual_symbol(symbol), self.oi_timeframe, limit=self.oi_points
            )
            values = [r.get("openInterestAmount") or r.get("openInterestValue") for r in rows]
            arr = np.asarray([float(v) for v in values if v is not None], dtype=np.float64)
            return arr if arr.shape[0] >= 2 else None
        except (ccxt.BaseError, TypeError, ValueError) as e:
            log.info("open interest unavailable for %s: %s", symbol, type(e).__name__)
            return None


class AlternativeMeFearGreed:
    """The fear & greed index from alternative.me's public API."""

    def __init__(self, http: httpx.AsyncClient, url: str = FEAR_GREED_URL) -> None:
        self.http = http
        self.url = url

    async def fear_greed(self) -> float | None:
        try:
            response = await self.http.get(self.url, timeout=10.0)
            response.raise_for_status()
            value = float(response.json()["data"][0]["value"])
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as e:
            log.info("fear & greed unavailable: %s", type(e).__name__)
            return None
        return value if 0.0 <= value <= 100.0 else None


class FileDominance:
    """BTC dominance from a `[open_time_ms, value]` JSON file, e.g. ../shared/data/dominance."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def dominance(self) -> DominanceSeries | None:
        try:
            return load_dominance(self.path)
        except DominanceFileError as e:
            log.info("BTC dominance unavailable: %s", e)
            return None


async def gather_context(
    symbols: Iterable[str],
    *,
    derivatives: DerivativesProvider | None = None,
    fear_greed: FearGreedProvider | None = None,
    dominance: DominanceProvider | None = None,
) -> tuple[MarketContext, dict[str, MarketContext]]:
    """The market-wide context and the per-symbol derivatives context, each missing piece left None."""
    fg = await fear_greed.fear_greed() if fear_greed is not None else None
    dom = dominance.dominance() if dominance is not None else None
    base = MarketContext(fear_greed=fg)
    if dom is not None:
        base = dom.into(base)
    per_symbol: dict[str, MarketContext] = {}
    if derivatives is not None:
        syms = list(symbols)
        funding = await asyncio.gather(*(derivatives.funding_rate(s) for s in syms))
        oi = await asyncio.gather(*(derivatives.open_interest(s) for s in syms))
        for s, f, o in zip(syms, funding, oi, strict=True):
            per_symbol[s] = MarketContext(funding_rate=f, open_interest=o)
    return base, per_symbol
