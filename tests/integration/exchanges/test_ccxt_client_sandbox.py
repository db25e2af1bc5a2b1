"""`CcxtExchangeClient` against the sandbox over real HTTP: market data, balances, limit/market/stop
orders, lookups by client id, fills — all in core types with Decimal money."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import pytest

from qari.adapters.exchanges.capabilities import capabilities_for
from qari.adapters.exchanges.ccxt_client import (
    CcxtExchangeClient,
    CcxtVenue,
    Credentials,
    CredentialsSource,
)
from qari.adapters.exchanges.ccxt_instances import build_ccxt
from qari.adapters.simulator.harness import SandboxServer
from qari.core.errors import InvalidCredentialsError, OrderNotFoundError
from qari.core.orders import OrderRequest, OrderStatus, OrderType, Side

SYMBOL = "BTC/USDT"


def _source(key: str, secret: str) -> CredentialsSource:
    async def credentials() -> Credentials:
        return Credentials(key, secret)

    return credentials


def _client(server: SandboxServer, key: str, secret: str) -> CcxtExchangeClient:
    return CcxtExchangeClient("sandbox", _source(key, secret), base_url=server.base_url, timeout_ms=5000)


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


def _count_open_order_reads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The params of every ccxt open-orders read from now on."""
    reads: list[dict[str, Any]] = []
    original = ccxt.bybit.fetch_open_orders

    async def counted(
        self: Any, symbol: Any = None, since: Any = None, limit: Any = None, params: Any = None
    ) -> Any:
        reads.append(dict(params or {}))
        return await original(self, symbol, since, limit, params or {})

    monkeypatch.setattr(ccxt.bybit, "fetch_open_orders", counted)
    return reads


async def test_client_when_order_lifecycle_then_reports_and_fills(
    sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
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
        resting = await client.create_order(
            OrderRequest(SYMBOL, Side.BUY, OrderType.LIMIT, qty, "qari-limit-2", price=resting_price)
        )
        reads = _count_open_order_reads(monkeypatch)
        plain = await client.fetch_open_orders(SYMBOL, stop_orders=False)
        assert resting.exchange_order_id in {o.exchange_order_id for o in plain}
        assert reads == [{}]  # the conditional orders' own read (`trigger`) is left out
        assert len(await client.fetch_open_orders(SYMBOL)) == len(plain) and reads[1:] == [
            {},
            {"trigger": True},
        ]
        await client.cancel_order(SYMBOL, resting.exchange_order_id)
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


async def test_clients_when_sharing_a_venue_then_one_market_load_own_balances_and_no_key_left_anywhere(
    sandbox_server: SandboxServer,
) -> None:
    venue = CcxtVenue("sandbox", base_url=sandbox_server.base_url, timeout_ms=5000)
    keys = [sandbox_server.create_key(balances={"USDT": str(1000 * (i + 1))}) for i in range(3)]
    loads = 0
    public = venue.public
    original = public.load_markets

    async def counting_load(*args: object, **kwargs: object) -> object:
        nonlocal loads
        loads += 1
        return await original(*args, **kwargs)

    public.load_markets = counting_load
    clients = [CcxtExchangeClient("sandbox", _source(key, secret), venue=venue) for key, secret in keys]
    try:
        markets = [await c.load_markets() for c in clients]
        balances = [await c.fetch_balances() for c in clients]
        tickers = [await c.fetch_ticker(SYMBOL) for c in clients]
        held = repr(vars(venue.public)) + "".join(repr(vars(c)) + repr(vars(c.public)) for c in clients)
        sessions = {id(c.public.session) for c in clients}
        throttlers = {id(c.public.throttler) for c in clients}
    finally:
        for client in clients:
            await client.close()
        open_after_clients = venue.public.session is not None and not venue.public.session.closed
        await venue.close()

    assert loads == 1 and all(m is markets[0] for m in markets) and SYMBOL in markets[0]
    assert [b["USDT"].free for b in balances] == [Decimal(1000), Decimal(2000), Decimal(3000)]
    assert all(t.last == tickers[0].last for t in tickers)
    assert sessions == {id(venue.public.session)} or len(sessions) == 1  # one connection pool
    assert len(throttlers) == 3  # a rate-limit budget per user connection
    assert open_after_clients  # closing a client leaves the shared session to the venue
    for key, secret in keys:
        assert key not in held and secret not in held


async def test_signed_call_when_it_fails_then_credentials_cleared_from_the_instance_that_signed(
    sandbox_server: SandboxServer,
) -> None:
    key, secret = sandbox_server.create_key()
    sandbox_server.revoke_key(key)
    client = _client(sandbox_server, key, secret)
    seen: list[object] = []
    try:
        with pytest.raises(InvalidCredentialsError):
            async with client._signed() as (exchange, _secrets):
                seen.append(exchange)
                assert exchange.secret == secret and not client.public.secret
                await client._call(exchange, _secrets, lambda: exchange.fetch_balance())
    finally:
        await client.close()
    signer = seen[0]
    assert (signer.apiKey, signer.secret, signer.password) == ("", "", "")  # type: ignore[attr-defined]
    assert signer.session is None  # type: ignore[attr-defined]
