"""Acceptance: Bybit's own SDK (pybit `HTTP`) works against the sandbox unchanged."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pybit.exceptions import InvalidRequestError

from qari.adapters.simulator.harness import SandboxServer


def test_pybit_http_when_pointed_at_sandbox_then_account_and_order_calls_succeed(
    sandbox_server: SandboxServer,
) -> None:
    key, secret = sandbox_server.create_key(balances={"USDT": "1000"})
    session = sandbox_server.pybit(key, secret)

    wallet = session.get_wallet_balance(accountType="UNIFIED")
    assert wallet["retCode"] == 0
    coins = {c["coin"]: c for c in wallet["result"]["list"][0]["coin"]}
    assert coins["USDT"]["walletBalance"] == "1000" and coins["USDT"]["locked"] == "0"

    info = session.get_api_key_information()
    assert info["result"]["apiKey"] == key and info["result"]["permissions"]["Spot"] == ["SpotTrade"]
    assert info["result"]["readOnly"] == 0 and info["result"]["ips"] == ["*"] and info["result"]["uta"] == 1

    price = sandbox_server.prices()["ETHUSDT"]
    limit = (price * Decimal("0.95")).quantize(Decimal("0.01"))
    placed = session.place_order(
        category="spot",
        symbol="ETHUSDT",
        side="Buy",
        orderType="Limit",
        qty="0.1",
        price=str(limit),
        orderLinkId="pybit-1",
    )
    order_id = placed["result"]["orderId"]
    assert placed["retCode"] == 0 and placed["result"]["orderLinkId"] == "pybit-1"

    open_orders = session.get_open_orders(category="spot", symbol="ETHUSDT")
    (row,) = open_orders["result"]["list"]
    assert row["orderId"] == order_id and row["orderStatus"] == "New"
    assert Decimal(row["price"]) == limit and row["qty"] == "0.1" and row["leavesQty"] == "0.1"
    assert sandbox_server.balances(key)["USDT"]["locked"] == limit * Decimal("0.1")

    cancelled = session.cancel_order(category="spot", symbol="ETHUSDT", orderId=order_id)
    assert cancelled["result"]["orderId"] == order_id
    assert session.get_open_orders(category="spot", symbol="ETHUSDT")["result"]["list"] == []
    assert sandbox_server.balances(key)["USDT"] == {
        "free": Decimal(1000),
        "locked": Decimal(0),
        "total": Decimal(1000),
    }


def test_pybit_when_balance_short_then_invalid_request_170131(sandbox_server: SandboxServer) -> None:
    key, secret = sandbox_server.create_key(balances={"USDT": "10"})
    session = sandbox_server.pybit(key, secret)
    with pytest.raises(InvalidRequestError) as err:
        session.place_order(category="spot", symbol="ETHUSDT", side="Buy", orderType="Market", qty="50")
    assert err.value.status_code == 170131
