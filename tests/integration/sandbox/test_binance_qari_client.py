"""QARI's own Binance code against the Binance-protocol sandbox: the key check (`sapi` apiRestrictions
through `inspection.check_key`) and `CcxtExchangeClient` reading markets and resting a limit entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from qari.adapters.exchanges.capabilities import capabilities_for
from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, Credentials
from qari.adapters.exchanges.inspection import check_key
from qari.adapters.exchanges.keys import KeyStatus
from qari.adapters.simulator.harness import SandboxServer
from qari.core.orders import OrderRequest, OrderStatus, OrderType, Side

D = Decimal


@pytest.fixture
def binance() -> Iterator[SandboxServer]:
    with SandboxServer.start(protocol="binance") as server:
        yield server


async def test_key_check_when_binance_sandbox_keys_vary_then_verdicts_follow_api_restrictions(
    binance: SandboxServer,
) -> None:
    now = dt.datetime.now(dt.UTC)

    async def verdict(key: str, secret: str) -> tuple[KeyStatus, str | None, str]:
        check = await check_key("binance", Credentials(key, secret, None), now=now, base_url=binance.base_url)
        return check.status, check.code, check.detail

    status, _, detail = await verdict(*binance.create_key(balances={"USDT": "100"}))
    assert status is KeyStatus.CONNECTED and "Spot Trading" in detail
    status, _, detail = await verdict(*binance.create_key(read_only=1, permissions={"Spot": []}))
    assert status is KeyStatus.PERMISSIONS_ERROR and "Enable Spot & Margin Trading" in detail
    withdraw = binance.create_key(permissions={"Spot": ["SpotTrade"], "Wallet": ["Withdraw"]})
    status, _, detail = await verdict(*withdraw)
    assert status is KeyStatus.PERMISSIONS_ERROR and "Enable Withdrawals" in detail
    key, _ = binance.create_key()
    status, code, _ = await verdict(key, "0" * 36)
    assert (status, code) == (KeyStatus.INVALID_CREDENTIALS, "-1022")
    status, code, _ = await verdict(*binance.create_key(ips=["10.1.1.1"]))
    assert status is not KeyStatus.CONNECTED and code == "-2015"  # Binance's answer for a foreign IP


async def test_ccxt_client_when_binance_sandbox_then_rules_and_a_resting_limit_entry_round_trip(
    binance: SandboxServer,
) -> None:
    key, secret = binance.create_key(balances={"USDT": "1000"})

    async def credentials() -> Credentials:
        return Credentials(key, secret, None)

    client = CcxtExchangeClient(
        capabilities_for("binance"), credentials, base_url=binance.base_url, rate_limit=False
    )
    try:
        rules = (await client.load_markets())["BTC/USDT"]
        assert (rules.tick_size, rules.lot_size, rules.min_notional) == (D("0.01"), D("0.00001"), D("5"))
        ticker = await client.fetch_ticker("BTC/USDT")
        assert ticker.last % rules.tick_size == 0
        price = (ticker.last * D("0.95")).quantize(rules.tick_size)
        request = OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.001"), "q7-entry", price)
        placed = await client.create_order(request)
        assert placed.status is OrderStatus.OPEN and placed.client_order_id == "q7-entry"
        assert [o.exchange_order_id for o in await client.fetch_open_orders("BTC/USDT")] == [
            placed.exchange_order_id
        ]
        found = await client.fetch_order_by_client_id("BTC/USDT", "q7-entry")
        assert found is not None and found.exchange_order_id == placed.exchange_order_id
        assert (await client.fetch_balances())["USDT"].used == price * D("0.001")
        await client.cancel_order("BTC/USDT", placed.exchange_order_id)
        assert await client.fetch_open_orders("BTC/USDT") == []
    finally:
        await client.close()
