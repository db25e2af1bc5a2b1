"""`/api/v1/portfolio` and `/api/v1/market/candles` against the built-in sandbox over real HTTP."""

from __future__ import annotations

from decimal import Decimal

import httpx
from tests.helpers import register_and_login


async def test_portfolio_when_no_exchange_then_says_so_without_money_fields(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        auth = await register_and_login(client)
        body = (await client.get("/api/v1/portfolio", headers=auth)).json()
    assert body["connected"] is False
    assert body["error"] == "no connected exchange"
    assert "total_usdt" not in body


async def test_portfolio_when_sandbox_connected_then_value_is_free_plus_locked_plus_positions(
    base_url: str,
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        auth = await register_and_login(client)
        connected = await client.post("/api/v1/exchange/connections/sandbox", headers=auth)
        assert connected.status_code == 201, connected.text
        body = (await client.get("/api/v1/portfolio", headers=auth)).json()
    assert body["connected"] is True and body["error"] is None
    free, locked, held = (Decimal(body[k]) for k in ("free_usdt", "locked_usdt", "positions_usdt"))
    assert free > 0
    assert Decimal(body["total_usdt"]) == free + locked + held
    assert Decimal(body["equity"][-1]["value"]) == Decimal(body["total_usdt"])


async def test_candles_when_sandbox_connected_then_ohlcv_rows(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        auth = await register_and_login(client)
        assert (await client.post("/api/v1/exchange/connections/sandbox", headers=auth)).status_code == 201
        info = await client.get("/sandbox/bybit/v5/market/instruments-info", params={"category": "spot"})
        row = info.json()["result"]["list"][0]
        symbol = f"{row['baseCoin']}/{row['quoteCoin']}"
        response = await client.get(
            "/api/v1/market/candles", params={"symbol": symbol, "timeframe": "15m", "limit": 50}, headers=auth
        )
        bad = await client.get("/api/v1/market/candles", params={"symbol": "not a symbol"}, headers=auth)
    assert response.status_code == 200, response.text
    candles = response.json()["candles"]
    assert 0 < len(candles) <= 50
    assert all(len(c) == 6 and c[2] >= c[3] for c in candles)
    assert bad.status_code == 422
