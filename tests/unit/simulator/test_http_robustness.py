"""Whatever a client sends to the Bybit routes, the answer is a Bybit envelope — never a 5xx/traceback."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import time
from decimal import Decimal

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qari.adapters.simulator.app import build_venue, create_sandbox_app
from qari.adapters.simulator.harness import FIXTURE_START_MS
from qari.core.clocks import ManualClock

VENUE = build_venue(stepped_start_ms=FIXTURE_START_MS)
APP = create_sandbox_app(VENUE)
KEY = VENUE.create_key(
    permissions={"Spot": ["SpotTrade"]}, balances={"USDT": Decimal(1000), "BTC": Decimal(1)}
)

scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "0", "-1", "1e999", "NaN", "0.0000001", "abc", "BTCUSDT", "spot", "Buy", "Limit"]),
    st.text(max_size=12),
)
order_params = st.fixed_dictionaries(
    {},
    optional={
        name: scalar
        for name in (
            "category",
            "symbol",
            "side",
            "orderType",
            "qty",
            "price",
            "timeInForce",
            "orderLinkId",
            "orderFilter",
            "triggerPrice",
            "triggerDirection",
            "marketUnit",
            "isLeverage",
        )
    },
)


async def _post(body: str) -> httpx.Response:
    ts = str(int(time.time() * 1000))
    sign = hmac.new(
        KEY.api_secret.encode(), f"{ts}{KEY.api_key}5000{body}".encode(), hashlib.sha256
    ).hexdigest()
    headers = {"X-BAPI-API-KEY": KEY.api_key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-SIGN": sign}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://127.0.0.1") as c:
        return await c.post("/v5/order/create", content=body, headers=headers)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=order_params)
def test_order_create_when_arbitrary_params_then_bybit_envelope_and_books_hold(
    params: dict[str, object],
) -> None:
    body = json.dumps({"category": "spot", "symbol": "BTCUSDT", **params}, default=str)
    response = asyncio.run(_post(body))
    assert response.status_code == 200
    envelope = response.json()
    assert set(envelope) == {"retCode", "retMsg", "result", "retExtInfo", "time"}
    assert envelope["retCode"] != 10016, envelope["retMsg"]  # 10016 = an unexpected server error
    VENUE.exchange.check_invariants()


def test_bybit_routes_when_body_or_query_malformed_then_10001() -> None:
    async def run() -> list[int]:
        codes = []
        for body in ("[1, 2]", "{not json", '"text"'):
            codes.append((await _post(body)).json()["retCode"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://x") as c:
            for query in ("category=spot&symbol=BTCUSDT&interval=7", "category=spot&symbol=NOPE&interval=1"):
                codes.append((await c.get(f"/v5/market/kline?{query}")).json()["retCode"])
        return codes

    assert asyncio.run(run()) == [10001] * 5


def test_rate_limits_when_on_then_21st_order_call_in_a_second_gets_10006() -> None:
    frozen = ManualClock(
        dt.datetime(2026, 1, 1, 0, 0, 0, 100_000, tzinfo=dt.UTC)
    )  # the burst fits one second
    venue = build_venue(stepped_start_ms=FIXTURE_START_MS, rate_limits=True, real_clock=frozen)
    app = create_sandbox_app(venue)
    key = venue.create_key(permissions={"Spot": ["SpotTrade"]}, balances={"USDT": Decimal(1000)})
    body = json.dumps({"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "x"})

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as c:
            out = []
            for _ in range(21):
                ts = str(venue.auth_now_ms())
                payload = f"{ts}{key.api_key}5000{body}".encode()
                sign = hmac.new(key.api_secret.encode(), payload, hashlib.sha256).hexdigest()
                headers = {"X-BAPI-API-KEY": key.api_key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-SIGN": sign}
                out.append(await c.post("/v5/order/cancel", content=body, headers=headers))
            return out

    responses = asyncio.run(burst())
    codes = [r.json()["retCode"] for r in responses]
    assert codes[:20] == [170213] * 20 and codes[20] == 10006
    assert (
        responses[0].headers["X-Bapi-Limit"] == "20" and responses[19].headers["X-Bapi-Limit-Status"] == "0"
    )
