"""The live market feed's universe (PRODUCT.md §4): stablecoins and leveraged tokens never scanned,
read through the simulated venue's own markets and tickers."""

from __future__ import annotations

from qari.adapters.simulator.client import SimulatedExchangeClient
from qari.adapters.simulator.exchange import SimulatedExchange
from qari.core.time import to_ms
from qari.engine.market_feed import ExchangeMarketFeed

from .rig import T0, at
from .scripted_prices import ScriptedPrices


async def test_live_universe_when_venue_lists_stablecoins_and_leveraged_tokens_then_left_out() -> None:
    flat = [(at(0), 1.0), (at(600), 1.0)]
    listed = ["BTC/USDT", "SOL/USDT", "USDC/USDT", "FDUSD/USDT", "BTCUP/USDT", "SOL3L/USDT", "JUP/USDT"]
    exchange = SimulatedExchange(ScriptedPrices({s: list(flat) for s in listed}), start_ms=to_ms(T0))
    feed = ExchangeMarketFeed(SimulatedExchangeClient(exchange, "u1"))

    chosen = await feed._symbols()

    assert chosen == ["BTC/USDT", "JUP/USDT", "SOL/USDT"]
