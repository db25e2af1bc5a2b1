"""`CcxtExchangeClient` against the sandbox over real HTTP: market data, balances, limit/market/stop
orders, lookups by client id, fills — all in core types with Decimal money."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from qari.adapters.exchanges.capabilities import capabilities_for
from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, Credentials, build_ccxt
from qari.adapters.simulator.harness import SandboxServer
from qari.core.errors import InvalidCredentialsError, OrderNotFoundError
from qari.core.orders import OrderRequest, OrderStatus, OrderType, Side

SYMBOL = "BTC/USDT"


def _client(server: SandboxServer, key: str, secret: str) -> CcxtExchangeClient:
    async def credentials() -> Credentials:
        return Credentials(key, secret)

    return CcxtExchangeClient("sandbox", credentials, base_url=server.base_url, timeout_ms=5000)


async def test_client_when_market_data_then_core_types(sandbox_server: SandboxServer) -> None:
    async with CcxtExchangeClient("sandbox", base_url=sandbox_server.base_url) as client:
        markets = await client.load_markets()
        ticker = await client.fetch_ticker(SYMBOL)
        tickers = await client.fetch_tickers()
        book = await client.fetch_order_book(SYMBOL, 5)
        candles = await client.fetch_ohlcv(SYMBOL, "15m", limit=10)

    rules = markets[SYMBOL]
    assert rules.tick_size > 0 and rules.lot_size > 0 and rules.quote == "USDT"
    assert isinstance(ticker.last, Decimal) and ticker.last > 0
    assert SYMBOL in tickers
    assert book.bids and book.asks and book.bids[0][0] < book.asks[0][0]
    assert 0 < len(candles) <= 10 and len(candles[0]) == 6


async def test_client_when_order_lifecycle_then_reports_and_fills(sandbox_server: SandboxServer) -> None:
    key, secret = sandbox_server.create_key(balances={"USDT": "20000"})
    client = _client(sandbox_server, key, secret)
    try:
        rules = (await client.load_markets())[SYMBOL]
        last = (await client.fetch_ticker(SYMBOL)).last
        resting_price = rules.round_price_down(last * Decimal("0.8"))
        qty = rules.round_qty_down(Decimal(50) / last)

        limit = await client.create_order(
            OrderRequest(SYMBOL, Side.BUY, OrderType.LIMIT, qty, "qari-limit-1", price=resting_price)
        )
        assert limit.exchange_order_id and limit.client_order_id == "qari-limit-1"
        found = await client.fetch_order_by_client_id(SYMBOL, "qari-limit-1")
        assert found is not None and found.status is OrderStatus.OPEN and found.price == resting_price
        await client.cancel_order(SYMBOL, limit.exchange_order_id)
        assert all(
            o.exchange_order_id != limit.exchange_order_id for o in await client.fetch_open_orders(SYMBOL)
        )

        await client.create_order(OrderRequest(SYMBOL, Side.BUY, OrderType.MARKET, qty, "qari-market-1"))
        bought = await client.fetch_order_by_client_id(SYMBOL, "qari-market-1")
        assert bought is not None and bought.status is OrderStatus.FILLED and bought.filled_base == qty
        fills = await client.fetch_fills(SYMBOL)
        assert any(f.exchange_order_id == bought.exchange_order_id and f.qty_base > 0 for f in fills)
        balances = await client.fetch_balances()
        assert balances["BTC"].free > 0

        stop_price = rules.round_price_down(last * Decimal("0.85"))
        stop = await client.create_order(
            OrderRequest(
                SYMBOL, Side.SELL, OrderType.STOP_MARKET, qty, "qari-stop-1", trigger_price=stop_price
            )
        )
        open_orders = await client.fetch_open_orders(SYMBOL)
        listed = [o for o in open_orders if o.exchange_order_id == stop.exchange_order_id]
        assert listed and listed[0].type is OrderType.STOP_MARKET and listed[0].trigger_price == stop_price
        await client.cancel_order(SYMBOL, stop.exchange_order_id)
        assert all(
            o.exchange_order_id != stop.exchange_order_id for o in await client.fetch_open_orders(SYMBOL)
        )
        with pytest.raises(OrderNotFoundError):
            await client.cancel_order(SYMBOL, stop.exchange_order_id)
        assert await client.fetch_order_by_client_id(SYMBOL, "never-sent") is None
    finally:
        await client.close()


async def test_client_when_key_revoked_then_invalid_credentials_error(sandbox_server: SandboxServer) -> None:
    key, secret = sandbox_server.create_key()
    sandbox_server.revoke_key(key)
    client = _client(sandbox_server, key, secret)
    try:
        with pytest.raises(InvalidCredentialsError) as raised:
            await client.fetch_balances()
    finally:
        await client.close()
    assert raised.value.code == "10003" and secret not in str(raised.value)


async def test_bybit_spot_stop_when_created_by_ccxt_then_trigger_price_and_stop_order_filter_sent(
    sandbox_server: SandboxServer,
) -> None:
    key, secret = sandbox_server.create_key(balances={"USDT": "1000", "BTC": "1"})
    exchange = build_ccxt(
        capabilities_for("sandbox"), Credentials(key, secret), base_url=sandbox_server.base_url
    )
    try:
        await exchange.load_markets()
        last = Decimal(str((await exchange.fetch_ticker(SYMBOL))["last"]))
        trigger = float(round(last * Decimal("0.8"), 2))
        expected = exchange.price_to_precision(SYMBOL, trigger)  # ccxt rounds the trigger to the tick
        order = await exchange.create_order(SYMBOL, "market", "sell", 0.001, None, {"triggerPrice": trigger})
        sent = json.loads(exchange.last_request_body)
        await exchange.cancel_order(order["id"], SYMBOL, {"trigger": True})
        cancel_sent = json.loads(exchange.last_request_body)
    finally:
        await exchange.close()

    assert sent["orderFilter"] == "StopOrder" and sent["triggerPrice"] == expected
    assert sent["orderType"] == "Market" and sent["side"] == "Sell" and sent["category"] == "spot"
    assert cancel_sent["orderFilter"] == "StopOrder"
