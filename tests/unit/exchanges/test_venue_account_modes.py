"""KuCoin HF accounts (issue 15): ccxt detects the high-frequency trading account only when markets
load with a key; QARI loads them without one, so its client runs ccxt's probe once per key. The URLs
are the ones real ccxt 4.5.90 builds offline."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.contract.harness import offline_client, payload

from qari.core.orders import OrderRequest, OrderType, Side


async def test_kucoin_when_account_is_hf_then_balances_and_orders_use_the_hf_endpoints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Arrange
    client, recorder = offline_client(
        "kucoin",
        monkeypatch,
        [
            ("GET", "/api/v1/hf/accounts/opened", payload("kucoin", "hfAccountsOpened: HF account")),
            ("GET", "/api/v1/accounts", payload("kucoin", "fetchBalance: fetch balance, HF account")),
            ("POST", "/api/v1/hf/orders", payload("kucoin", "createOrder (HF): documentation sample")),
        ],
    )
    request = OrderRequest(
        "BTC/USDT", Side.BUY, OrderType.LIMIT, Decimal("0.001"), "q7-42-leg11", price=Decimal(30000)
    )

    # Act
    async with client:
        balances = await client.fetch_balances()
        placed = await client.create_order(request)

    # Assert: the HF account's balance (today: `type=trade`, the old account: 0 USDT) and the HF order URL
    assert recorder.only("/api/v1/accounts").query["type"] == "trade_hf"
    assert balances["USDT"].free == Decimal("40.12618754")
    assert recorder.requests[-1].path == "/api/v1/hf/orders" and placed.client_order_id == "q7-42-leg11"
    assert len([c for c in recorder.requests if "hf/accounts/opened" in c.url]) == 1  # probed once per key
