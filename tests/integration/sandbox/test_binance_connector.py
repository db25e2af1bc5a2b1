"""Acceptance: Binance's own Python SDK (`binance-connector`, `binance.spot.Spot`) trades the Binance-protocol
sandbox unchanged: it signs every parameter in the query string, even for POST and DELETE."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from binance.error import ClientError
from binance.spot import Spot

from qari.adapters.simulator.harness import SandboxServer

D = Decimal


@pytest.fixture
def binance() -> Iterator[SandboxServer]:
    with SandboxServer.start(protocol="binance") as server:
        yield server


def test_binance_connector_when_pointed_at_sandbox_then_account_order_and_trade_calls_succeed(
    binance: SandboxServer,
) -> None:
    key, secret = binance.create_key(balances={"USDT": "1000"})
    client = Spot(api_key=key, api_secret=secret, base_url=binance.base_url)

    assert abs(client.time()["serverTime"] - binance.venue.auth_now_ms()) < 5_000
    info = client.exchange_info(symbol="ETHUSDT")["symbols"][0]
    filters = {f["filterType"]: f for f in info["filters"]}
    assert filters["LOT_SIZE"]["stepSize"] == "0.00010000"  # Binance's recorded ETHUSDT rule
    permissions = client.api_key_permissions()
    assert permissions["enableSpotAndMarginTrading"] is True and permissions["enableWithdrawals"] is False
    balances = {b["asset"]: b for b in client.account()["balances"]}
    assert balances["USDT"] == {"asset": "USDT", "free": "1000.00000000", "locked": "0.00000000"}

    price = D(client.ticker_price(symbol="ETHUSDT")["price"])
    limit = (price * D("0.95")).quantize(D("0.01"))
    placed = client.new_order(
        symbol="ETHUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.01",
        price=str(limit),
        newClientOrderId="sdk-1",
    )
    assert placed["status"] == "NEW" and placed["clientOrderId"] == "sdk-1" and placed["fills"] == []
    assert [o["orderId"] for o in client.get_open_orders(symbol="ETHUSDT")] == [placed["orderId"]]
    assert client.get_order(symbol="ETHUSDT", origClientOrderId="sdk-1")["orderId"] == placed["orderId"]
    cancelled = client.cancel_order(symbol="ETHUSDT", orderId=placed["orderId"])
    assert cancelled["status"] == "CANCELED" and cancelled["origClientOrderId"] == "sdk-1"

    bought = client.new_order(symbol="ETHUSDT", side="BUY", type="MARKET", quantity="0.01")
    assert bought["status"] == "FILLED" and D(bought["executedQty"]) == D("0.01")
    fee = sum(D(f["commission"]) for f in bought["fills"])
    assert {f["commissionAsset"] for f in bought["fills"]} == {"ETH"} and fee == D("0.00001")
    trades = client.my_trades(symbol="ETHUSDT")
    assert [t["orderId"] for t in trades] == [bought["orderId"]] * len(trades)
    assert sum(D(t["quoteQty"]) for t in trades) == D(bought["cummulativeQuoteQty"])
    assert [o["status"] for o in client.get_orders(symbol="ETHUSDT")] == ["CANCELED", "FILLED"]

    with pytest.raises(ClientError) as refused:
        client.new_order(symbol="ETHUSDT", side="SELL", type="MARKET", quantity="5")
    assert refused.value.status_code == 400 and refused.value.error_code == -2010
