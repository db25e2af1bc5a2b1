"""SimulatedExchangeClient: the port the backtester uses, over the in-process venue."""

from __future__ import annotations

from decimal import Decimal

import pytest
from simulator_market import STEP, T0, MakeExchange

from qari.adapters.simulator.client import SimulatedExchangeClient
from qari.core.errors import InsufficientFundsError, OrderNotFoundError, OrderRejectedError
from qari.core.orders import OrderRequest, OrderStatus, OrderType, Side
from qari.ports import ExchangeClient

D = Decimal
DIP = [(100.0, 100.0, 100.0, 100.0, 1000.0)] * 2 + [(100.0, 100.0, 97.0, 98.0, 1000.0)] * 4


async def test_client_when_trading_then_core_types_and_errors(make_exchange: MakeExchange) -> None:
    venue = make_exchange(DIP)
    client: ExchangeClient = SimulatedExchangeClient(venue, "a")
    rules = (await client.load_markets())["BTC/USDT"]
    assert rules.tick_size == D("0.001") and rules.lot_size == D("0.001") and rules.min_notional == 5
    ticker = await client.fetch_ticker("BTC/USDT")
    assert ticker.last == D(100) and ticker.bid is not None and ticker.bid < ticker.last
    book = await client.fetch_order_book("BTC/USDT", 5)
    assert len(book.bids) == 5 and book.asks[0][0] > book.bids[0][0]

    entry = await client.create_order(
        OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, D("2"), "entry-1", price=D("99"))
    )
    assert entry.status is OrderStatus.OPEN and entry.client_order_id == "entry-1"
    stop = await client.create_order(
        OrderRequest("BTC/USDT", Side.SELL, OrderType.STOP_MARKET, D("1"), "sl-1", trigger_price=D("97.5"))
    )
    assert stop.status is OrderStatus.UNTRIGGERED and stop.type is OrderType.STOP_MARKET
    balances = await client.fetch_balances()
    assert balances["USDT"].used == D("198") and balances["BTC"].used == D("1")

    venue.advance_to(T0 + 4 * STEP)
    filled = await client.fetch_order_by_client_id("BTC/USDT", "entry-1")
    assert filled is not None and filled.status is OrderStatus.FILLED and filled.fee == D("0.002")
    stopped = await client.fetch_order_by_client_id("BTC/USDT", "sl-1")
    assert stopped is not None and stopped.status is OrderStatus.FILLED and stopped.avg_price is not None
    fills = await client.fetch_fills("BTC/USDT")
    assert [f.client_order_id for f in fills] == ["entry-1", "sl-1"] and fills[0].is_maker
    assert await client.fetch_open_orders() == []
    assert len(await client.fetch_ohlcv("BTC/USDT", "5m", limit=3)) == 3

    with pytest.raises(InsufficientFundsError):
        await client.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET, D("500"), "big"))
    with pytest.raises(OrderRejectedError):
        await client.create_order(
            OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.0001"), "x", D("90"))
        )
    with pytest.raises(OrderNotFoundError):
        await client.cancel_order("BTC/USDT", "nope")
    await client.close()
