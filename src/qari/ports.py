"""The protocols the application ring talks through; adapters implement them.

ExchangeClient — required methods (all async, all return core types, never ccxt dicts):
    load_markets()            -> dict[symbol, InstrumentRules]
    fetch_balances()          -> dict[currency, Balance]
    fetch_ticker(symbol)      -> Ticker
    fetch_tickers()           -> dict[symbol, Ticker]
    fetch_order_book(symbol)  -> OrderBook
    fetch_ohlcv(symbol, timeframe, since_ms, limit) -> list[[ms, o, h, l, c, v]]
    create_order(request)     -> OrderReport     never retried; a timeout raises OutcomeUnknownError
    cancel_order(symbol, exchange_order_id) -> None
    fetch_order_by_client_id(symbol, client_order_id) -> OrderReport | None
    fetch_open_orders(symbol | None) -> list[OrderReport]
    fetch_fills(symbol, since_ms) -> list[Fill]
    close()
"""

from __future__ import annotations

from typing import Protocol

from qari.core.clocks import ManualClock, WallClock
from qari.core.instrument import InstrumentRules
from qari.core.market import OrderBook, Ticker
from qari.core.orders import Balance, Fill, OrderReport, OrderRequest
from qari.core.time import Clock

__all__ = ["Clock", "ExchangeClient", "ManualClock", "WallClock"]


class ExchangeClient(Protocol):
    exchange_id: str

    async def load_markets(self) -> dict[str, InstrumentRules]: ...

    async def fetch_balances(self) -> dict[str, Balance]: ...

    async def fetch_ticker(self, symbol: str) -> Ticker: ...

    async def fetch_tickers(self) -> dict[str, Ticker]: ...

    async def fetch_order_book(self, symbol: str, limit: int = 50) -> OrderBook: ...

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[list[float]]: ...

    async def create_order(self, request: OrderRequest) -> OrderReport: ...

    async def cancel_order(self, symbol: str, exchange_order_id: str) -> None: ...

    async def fetch_order_by_client_id(self, symbol: str, client_order_id: str) -> OrderReport | None: ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]: ...

    async def fetch_fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]: ...

    async def close(self) -> None: ...
