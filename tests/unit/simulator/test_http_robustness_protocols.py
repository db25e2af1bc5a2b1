"""Whatever a client sends to the Binance and OKX order routes, the answer is that venue's error shape —
never a 5xx or a traceback — and the venue's books stay consistent."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from decimal import Decimal
from urllib.parse import urlencode

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qari.adapters.simulator.app import build_venue, create_sandbox_app
from qari.adapters.simulator.harness import FIXTURE_START_MS

BALANCES = {"USDT": Decimal(1000), "BTC": Decimal(1)}
BINANCE = build_venue(stepped_start_ms=FIXTURE_START_MS, protocol="binance")
BINANCE_APP = create_sandbox_app(BINANCE)
BINANCE_KEY = BINANCE.create_key(permissions={"Spot": ["SpotTrade"]}, balances=BALANCES)
OKX = build_venue(stepped_start_ms=FIXTURE_START_MS, protocol="okx")
OKX_APP = create_sandbox_app(OKX)
OKX_KEY = OKX.create_key(permissions={"Spot": ["SpotTrade"]}, balances=BALANCES, passphrase="Pass1")

text = st.one_of(
    st.sampled_from(["", "0", "-1", "1e999", "NaN", "0.0000001", "abc", "0.001", "60000", "BTCUSDT"]),
    st.sampled_from(["BUY", "SELL", "LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "LIMIT_MAKER", "GTC"]),
    st.text(max_size=12),
)
binance_params = st.fixed_dictionaries(
    {},
    optional={
        name: text
        for name in (
            "symbol",
            "side",
            "type",
            "timeInForce",
            "quantity",
            "quoteOrderQty",
            "price",
            "stopPrice",
            "newClientOrderId",
            "newOrderRespType",
            "recvWindow",
        )
    },
)
value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(), max_size=2),
    st.sampled_from(
        ["", "0", "-1", "-1.5", "abc", "0.001", "cash", "buy", "sell", "limit", "market", "BTC-USDT"]
    ),
    st.sampled_from(["conditional", "trigger", "base_ccy", "quote_ccy", "post_only", "ioc", "fok"]),
    st.text(max_size=12),
)
okx_params = st.fixed_dictionaries(
    {},
    optional={
        name: value
        for name in (
            "instId",
            "tdMode",
            "side",
            "ordType",
            "sz",
            "px",
            "clOrdId",
            "tgtCcy",
            "slTriggerPx",
            "slOrdPx",
            "triggerPx",
            "orderPx",
            "algoClOrdId",
            "algoId",
        )
    },
)


async def _binance(params: dict[str, str]) -> httpx.Response:
    query = urlencode({**params, "timestamp": int(time.time() * 1000)})
    signature = hmac.new(BINANCE_KEY.api_secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    transport = httpx.ASGITransport(app=BINANCE_APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return await client.post(
            "/api/v3/order",
            content=f"{query}&signature={signature}",
            headers={
                "X-MBX-APIKEY": BINANCE_KEY.api_key,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )


async def _okx(path: str, body: str) -> httpx.Response:
    moment = dt.datetime.now(dt.UTC)
    ts = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    digest = hmac.new(OKX_KEY.api_secret.encode(), f"{ts}POST{path}{body}".encode(), hashlib.sha256).digest()
    headers = {
        "OK-ACCESS-KEY": OKX_KEY.api_key,
        "OK-ACCESS-SIGN": base64.b64encode(digest).decode(),
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-PASSPHRASE": "Pass1",
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=OKX_APP), base_url="http://127.0.0.1"
    ) as client:
        return await client.post(path, content=body, headers=headers)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=binance_params)
def test_binance_order_when_arbitrary_params_then_binance_error_or_order_and_books_hold(
    params: dict[str, str],
) -> None:
    response = asyncio.run(_binance({"symbol": "BTCUSDT", **params}))
    assert response.status_code < 500, response.text
    body = response.json()
    if response.status_code != 200:
        assert set(body) == {"code", "msg"} and body["code"] < 0
    else:
        assert body["symbol"] == "BTCUSDT" and isinstance(body["orderId"], int)
    BINANCE.exchange.check_invariants()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=okx_params,
    path=st.sampled_from(["/api/v5/trade/order", "/api/v5/trade/order-algo", "/api/v5/trade/batch-orders"]),
)
def test_okx_order_when_arbitrary_params_then_okx_envelope_and_books_hold(
    params: dict[str, object], path: str
) -> None:
    payload: object = {"instId": "BTC-USDT", **params}
    if path.endswith("batch-orders"):
        payload = [payload]
    response = asyncio.run(_okx(path, json.dumps(payload, default=str)))
    assert response.status_code < 500, response.text
    body = response.json()
    assert (set(body) == {"code", "msg", "data"} and body["code"] in ("0", "1")) or body["data"] == [], body
    OKX.exchange.check_invariants()
