"""Acceptance: unmodified async ccxt `binance` trades the sandbox speaking Binance spot over loopback HTTP,
and the venue refuses what Binance refuses with Binance's codes (spot API documentation, error codes)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import ccxt.async_support as ccxt
import httpx
import pytest

from qari.adapters.simulator.harness import SandboxServer
from qari.adapters.simulator.recorded_rules import BINANCE_SOURCE
from qari.adapters.simulator.wire import on_tick

D = Decimal


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
def binance() -> Iterator[SandboxServer]:
    with SandboxServer.start(protocol="binance") as server:
        yield server


def _signed(
    server: SandboxServer,
    method: str,
    path: str,
    params: dict[str, Any],
    key: str | None,
    secret: str,
    *,
    ts_offset_ms: int = 0,
    tamper: bool = False,
) -> httpx.Response:
    """A signed request built by hand the way Binance documents it (HMAC-SHA256 of the query string)."""
    query = urlencode({**params, "timestamp": int(time.time() * 1000) + ts_offset_ms})
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    if tamper:
        signature = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    headers = {"X-MBX-APIKEY": key} if key else {}
    return httpx.request(
        method, f"{server.base_url}{path}?{query}&signature={signature}", headers=headers, timeout=10
    )


def _code(response: httpx.Response) -> int:
    body = response.json()
    assert set(body) == {"code", "msg"}, body
    return int(body["code"])


async def test_ccxt_markets_when_loaded_then_recorded_rules_where_recorded_and_ticks_on_the_tick(
    binance: SandboxServer,
) -> None:
    key, secret = binance.create_key(balances={"USDT": "10000"})
    ex = binance.ccxt(key, secret)
    venue = binance.venue.exchange
    try:
        markets = await ex.load_markets()
        assert set(markets) == set(venue.instruments())
        btc, sol = markets["BTC/USDT"], markets["SOL/USDT"]
        # BTCUSDT as Binance lists it (ccxt static markets/binance.json): tick 0.01, step 0.00001, min 5 USDT
        assert (_d(btc["precision"]["price"]), _d(btc["precision"]["amount"])) == (D("0.01"), D("0.00001"))
        assert _d(btc["limits"]["amount"]["min"]) == D("0.00001") and btc["limits"]["cost"]["min"] == 5
        assert venue.instrument("BTC/USDT").source == BINANCE_SOURCE
        assert venue.instrument("SOL/USDT").source == "formula"  # not in the recording
        assert _d(sol["precision"]["price"]) == venue.instrument("SOL/USDT").tick_size

        assert abs(await ex.fetch_time() - binance.venue.auth_now_ms()) < 5_000
        for symbol in ("BTC/USDT", "SOL/USDT", "DOGE/USDT"):
            tick = venue.instrument(symbol).tick_size
            ticker = await ex.fetch_ticker(symbol)
            raw_last = D(ticker["info"]["lastPrice"])
            assert raw_last % tick == 0, f"{symbol} last {raw_last} is off the tick {tick}"
            assert raw_last == on_tick(venue.price(symbol), tick)
            assert ticker["bid"] < ticker["ask"]
        book = await ex.fetch_order_book("BTC/USDT", 20)
        assert len(book["bids"]) == 20 and book["bids"][0][0] < book["asks"][0][0]
        candles = await ex.fetch_ohlcv("BTC/USDT", "1h", limit=24)
        assert len(candles) == 24 and all(b[0] - a[0] == 3_600_000 for a, b in itertools.pairwise(candles))
        balance = await ex.fetch_balance()
        assert balance["USDT"]["free"] == 10000 and balance["USDT"]["used"] == 0
        restrictions = await ex.sapi_get_account_apirestrictions()
        assert restrictions["enableSpotAndMarginTrading"] is True and restrictions["ipRestrict"] is False
    finally:
        await ex.close()


async def test_ccxt_trading_when_limit_cancel_market_then_balances_move_by_fill_and_fee(
    binance: SandboxServer,
) -> None:
    key, secret = binance.create_key(balances={"USDT": "10000"})
    ex = binance.ccxt(key, secret)
    try:
        await ex.load_markets()
        last = (await ex.fetch_ticker("BTC/USDT"))["last"]
        # limit buy below the market rests, locks quote, is found by its client id, then cancelled
        price = float(ex.price_to_precision("BTC/USDT", last * 0.97))
        buy = await ex.create_order("BTC/USDT", "limit", "buy", 0.002, price, {"clientOrderId": "entry-1"})
        assert buy["status"] == "open" and buy["clientOrderId"] == "entry-1"
        assert [o["id"] for o in await ex.fetch_open_orders("BTC/USDT")] == [buy["id"]]
        balance = await ex.fetch_balance()
        assert _d(balance["USDT"]["used"]) == _d(price) * D("0.002")
        by_client = await ex.fetch_order("", "BTC/USDT", {"clientOrderId": "entry-1"})
        assert by_client["id"] == buy["id"] and by_client["status"] == "open"
        cancelled = await ex.cancel_order(buy["id"], "BTC/USDT")
        assert cancelled["status"] == "canceled"
        after = await ex.fetch_order("", "BTC/USDT", {"clientOrderId": "entry-1"})
        assert after["status"] == "canceled" and await ex.fetch_open_orders("BTC/USDT") == []

        # market buy by quantity: taker, fee in BTC; then market sell: fee in USDT
        bought = await ex.create_order("BTC/USDT", "market", "buy", 0.002)
        assert bought["status"] == "closed" and bought["filled"] == pytest.approx(0.002)
        sold = await ex.create_order("BTC/USDT", "market", "sell", 0.001)
        assert sold["status"] == "closed"
        trades = await ex.fetch_my_trades("BTC/USDT")
        assert {t["order"] for t in trades} == {bought["id"], sold["id"]}
        buys = [t for t in trades if t["order"] == bought["id"]]
        sells = [t for t in trades if t["order"] == sold["id"]]
        assert all(t["fee"]["currency"] == "BTC" and t["takerOrMaker"] == "taker" for t in buys)
        assert all(t["fee"]["currency"] == "USDT" for t in sells)
        buy_cost = sum(_d(t["cost"]) for t in buys)
        sell_value = sum(_d(t["cost"]) for t in sells)
        sell_fee = sum(_d(t["fee"]["cost"]) for t in sells)
        assert sell_fee == (sell_value * D("0.001")).quantize(D("0.00000001"), "ROUND_DOWN")
        balance = await ex.fetch_balance()
        assert _d(balance["BTC"]["total"]) == D("0.002") - D("0.000002") - D("0.001")
        assert abs(_d(balance["USDT"]["total"]) - (D("10000") - buy_cost + sell_value - sell_fee)) < D("1e-6")

        # a market buy sized in quote coin (Binance's quoteOrderQty): whole lots of 0.00001 BTC within 20 USDT
        by_cost = await ex.create_order("BTC/USDT", "market", "buy", None, None, {"quoteOrderQty": 20})
        assert by_cost["status"] == "closed" and 20 - last * 0.0000102 < by_cost["cost"] <= 20
        assert _d(by_cost["filled"]) % D("0.00001") == 0
    finally:
        await ex.close()


async def _until_closed(server: SandboxServer, ex: Any, order_id: str) -> dict[str, Any]:
    for _ in range(4 * 24 * 4):
        server.advance(15 * 60_000)
        state: dict[str, Any] = await ex.fetch_order(order_id, "BTC/USDT")
        if state["status"] != "open":
            return state
    pytest.fail("the stop never triggered within four days of market")


async def test_ccxt_stops_when_placed_listed_cancelled_and_triggered_then_same_order_fills(
    binance: SandboxServer,
) -> None:
    key, secret = binance.create_key(balances={"USDT": "10000"})
    ex = binance.ccxt(key, secret)
    try:
        await ex.load_markets()
        await ex.create_order("BTC/USDT", "market", "buy", 0.004)
        last = (await ex.fetch_ticker("BTC/USDT"))["last"]
        stop = float(ex.price_to_precision("BTC/USDT", last * 0.995))
        limit = float(ex.price_to_precision("BTC/USDT", last * 0.98))
        # placed and listed: resting, not working, funds locked as Binance locks them
        sl = await ex.create_order("BTC/USDT", "limit", "sell", 0.001, limit, {"stopPrice": stop})
        listed = await ex.fetch_open_orders("BTC/USDT")
        assert [(o["id"], o["info"]["type"], o["triggerPrice"]) for o in listed] == [
            (sl["id"], "STOP_LOSS_LIMIT", stop)
        ]
        assert listed[0]["info"]["isWorking"] is False
        assert _d((await ex.fetch_balance())["BTC"]["used"]) == D("0.001")
        # cancelled
        assert (await ex.cancel_order(sl["id"], "BTC/USDT"))["status"] == "canceled"
        assert _d((await ex.fetch_balance())["BTC"]["used"]) == 0
        # a stop already through the market is refused, as on Binance
        with pytest.raises(ccxt.InvalidOrder, match="Stop price would trigger immediately"):
            await ex.create_order("BTC/USDT", "limit", "sell", 0.001, limit, {"stopPrice": last * 1.01})

        # triggered: the stop-limit and a market stop (STOP_LOSS) fill under their own order ids
        sl = await ex.create_order(
            "BTC/USDT", "limit", "sell", 0.001, limit, {"stopPrice": stop, "clientOrderId": "stop-1"}
        )
        market_stop = await ex.create_order(
            "BTC/USDT", "STOP_LOSS", "sell", 0.001, None, {"stopPrice": stop, "clientOrderId": "stop-2"}
        )
        assert {o["info"]["type"] for o in await ex.fetch_open_orders("BTC/USDT")} == {
            "STOP_LOSS_LIMIT",
            "STOP_LOSS",
        }
        done = await _until_closed(binance, ex, sl["id"])
        assert done["status"] == "closed" and done["filled"] == pytest.approx(0.001)
        assert done["clientOrderId"] == "stop-1" and done["info"]["isWorking"] is True
        done_market = await ex.fetch_order("", "BTC/USDT", {"clientOrderId": "stop-2"})
        assert done_market["status"] == "closed" and done_market["id"] == market_stop["id"]
        fills = [
            t for t in await ex.fetch_my_trades("BTC/USDT") if t["order"] in (sl["id"], market_stop["id"])
        ]
        assert sum(_d(t["amount"]) for t in fills) == D("0.002")
        assert all(_d(t["price"]) >= _d(limit) for t in fills if t["order"] == sl["id"])
        history = await ex.fetch_orders("BTC/USDT")
        assert {o["id"] for o in history} >= {sl["id"], market_stop["id"]}
    finally:
        await ex.close()


async def test_ccxt_errors_when_refused_then_binance_codes_map_to_ccxt_exceptions(
    binance: SandboxServer,
) -> None:
    key, secret = binance.create_key(balances={"USDT": "100"})
    ex = binance.ccxt(key, secret)
    wrong = binance.ccxt(key, "0" * 36)
    try:
        await ex.load_markets()
        wrong.markets, wrong.markets_by_id, wrong.symbols = ex.markets, ex.markets_by_id, ex.symbols
        with pytest.raises(ccxt.AuthenticationError, match="Signature for this request is not valid"):
            await wrong.fetch_balance()
        with pytest.raises(ccxt.InsufficientFunds, match="insufficient balance"):
            await ex.create_order("BTC/USDT", "market", "buy", 0.01)
        with pytest.raises(ccxt.BadRequest, match="Filter failure: NOTIONAL"):  # ccxt maps -1013 so
            await ex.create_order("BTC/USDT", "market", "buy", 0.00001)
        with pytest.raises(ccxt.OrderNotFound, match="Order does not exist"):
            await ex.fetch_order("12345", "BTC/USDT")
        with pytest.raises(ccxt.OrderNotFound, match="Unknown order sent"):
            await ex.cancel_order("12345", "BTC/USDT")
        # a ccxt option passed as a raw parameter reaches Binance, which refuses what it does not read
        with pytest.raises(ccxt.BadRequest, match="Not all sent parameters were read"):
            await ex.create_order(
                "BTC/USDT", "market", "buy", 0.0001, None, {"createMarketBuyOrderRequiresPrice": False}
            )
    finally:
        await ex.close()
        await wrong.close()


def test_signed_requests_when_key_time_signature_or_filters_wrong_then_binance_error_codes(
    binance: SandboxServer,
) -> None:
    key, secret = binance.create_key(balances={"USDT": "1000"})
    read_only, ro_secret = binance.create_key(read_only=1, permissions={"Spot": []})
    ok = _signed(binance, "GET", "/api/v3/account", {}, key, secret)
    assert ok.status_code == 200 and ok.json()["balances"][0]["asset"] == "USDT"

    # who is asking, when, and with what signature
    assert _code(_signed(binance, "GET", "/api/v3/account", {}, None, secret)) == -2014
    unknown = _signed(binance, "GET", "/api/v3/account", {}, "NOPE", secret)
    assert unknown.status_code == 401 and _code(unknown) == -2015
    assert _code(_signed(binance, "GET", "/api/v3/account", {}, key, secret, tamper=True)) == -1022
    stale = _signed(binance, "GET", "/api/v3/account", {"recvWindow": 5000}, key, secret, ts_offset_ms=-6000)
    assert stale.status_code == 400 and _code(stale) == -1021
    wide = _signed(
        binance, "GET", "/api/v3/account", {"recvWindow": 5000 * 60}, key, secret, ts_offset_ms=-6000
    )
    assert _code(wide) == -1131
    within = _signed(
        binance, "GET", "/api/v3/account", {"recvWindow": 10_000}, key, secret, ts_offset_ms=-6000
    )
    assert within.status_code == 200
    ahead = _signed(binance, "GET", "/api/v3/account", {}, key, secret, ts_offset_ms=5000)
    assert _code(ahead) == -1021
    unsigned = httpx.get(f"{binance.base_url}/api/v3/account", headers={"X-MBX-APIKEY": key})
    assert _code(unsigned) == -1102

    # a read-only key reads but may not trade; apiRestrictions says so
    restrictions = _signed(binance, "GET", "/sapi/v1/account/apiRestrictions", {}, read_only, ro_secret)
    assert restrictions.json()["enableSpotAndMarginTrading"] is False
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    assert _code(_signed(binance, "POST", "/api/v3/order", order, read_only, ro_secret)) == -2015

    # filters and order rules, with the messages Binance sends
    price = binance.venue.exchange.price("BTC/USDT")
    low = (price * D("0.9")).quantize(D("0.01"))
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}

    def place(**extra: str) -> httpx.Response:
        return _signed(binance, "POST", "/api/v3/order", {**limit, **extra}, key, secret)

    lot = place(quantity="0.000015", price=str(low))
    assert (_code(lot), lot.json()["msg"]) == (-1013, "Filter failure: LOT_SIZE")
    tick = place(quantity="0.001", price=str(low + D("0.001")))
    assert (_code(tick), tick.json()["msg"]) == (-1013, "Filter failure: PRICE_FILTER")
    notional = place(quantity="0.00001", price=str(low))
    assert (_code(notional), notional.json()["msg"]) == (-1013, "Filter failure: NOTIONAL")
    broke = place(quantity="1", price=str(low))
    assert _code(broke) == -2010 and "insufficient balance" in broke.json()["msg"]
    bad_id = place(quantity="0.001", price=str(low), newClientOrderId="has space")
    assert _code(bad_id) == -1100 and "newClientOrderId" in bad_id.json()["msg"]
    assert _code(place(quantity="0.001", price=str(low), newClientOrderId="x" * 37)) == -1100
    assert _code(place(quantity="0.001")) == -1102  # a limit order without its price
    assert (
        _code(_signed(binance, "POST", "/api/v3/order", {**order, "symbol": "NOPEUSDT"}, key, secret))
        == -1121
    )

    maker = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT_MAKER", "quantity": "0.001"}
    taking = _signed(binance, "POST", "/api/v3/order", {**maker, "price": str(low * 2)}, key, secret)
    assert (_code(taking), taking.json()["msg"]) == (-2010, "Order would immediately match and take.")
    as_result = {
        **maker,
        "price": str(low),
        "newOrderRespType": "RESULT",
    }  # LIMIT_MAKER answers ACK otherwise
    resting = _signed(binance, "POST", "/api/v3/order", as_result, key, secret).json()
    assert (resting["type"], resting["status"]) == ("LIMIT_MAKER", "NEW")
    first = place(quantity="0.001", price=str(low), newClientOrderId="q1:a/b.c_d-e")
    assert first.status_code == 200 and first.json()["clientOrderId"] == "q1:a/b.c_d-e"
    duplicate = place(quantity="0.001", price=str(low), newClientOrderId="q1:a/b.c_d-e")
    assert (_code(duplicate), duplicate.json()["msg"]) == (-2010, "Duplicate order sent.")
    cancel = {"symbol": "BTCUSDT", "origClientOrderId": "q1:a/b.c_d-e"}
    assert _signed(binance, "DELETE", "/api/v3/order", cancel, key, secret).json()["status"] == "CANCELED"
    again = place(quantity="0.001", price=str(low), newClientOrderId="q1:a/b.c_d-e")  # closed: reusable
    assert again.status_code == 200 and again.json()["orderId"] != first.json()["orderId"]
    missing = _signed(binance, "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": 1}, key, secret)
    assert _code(missing) == -2013
    window = {"symbol": "BTCUSDT", "startTime": 0, "endTime": 86_400_001}
    assert _code(_signed(binance, "GET", "/api/v3/myTrades", window, key, secret)) == -1127


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("maintenance", ccxt.ExchangeNotAvailable),
        ("http_5xx", ccxt.ExchangeNotAvailable),
        ("rate_limit", ccxt.DDoSProtection),  # ccxt reads an HTTP 429 from Binance so
        ("reject_order", ccxt.InvalidOrder),
    ],
)
async def test_ccxt_when_fault_injected_then_mapped_error_and_no_order(
    binance: SandboxServer, kind: str, error: type[Exception]
) -> None:
    key, secret = binance.create_key(balances={"USDT": "1000"})
    ex = binance.ccxt(key, secret)
    try:
        await ex.load_markets()
        binance.inject_fault(kind, count=1, paths=["/api/v3/order"])
        with pytest.raises(error):
            await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 40_000)
        assert await ex.fetch_open_orders("BTC/USDT") == []
    finally:
        await ex.close()


async def test_ccxt_when_order_answer_times_out_after_acceptance_then_found_by_client_id(
    binance: SandboxServer,
) -> None:
    key, secret = binance.create_key(balances={"USDT": "1000"})
    binance.inject_fault("timeout", delay_ms=1000, after=True, paths=["/api/v3/order"])
    ex = binance.ccxt(key, secret, timeout=300)
    try:
        await ex.load_markets()
        with pytest.raises(ccxt.RequestTimeout):
            await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 40_000, {"clientOrderId": "lost-1"})
        binance.clear_faults()
        found = await ex.fetch_order("", "BTC/USDT", {"clientOrderId": "lost-1"})
        assert found["status"] == "open"  # the outcome was unknown to the client, but the order is there
    finally:
        await ex.close()
