"""Acceptance: unmodified async ccxt `okx`, and OKX's own SDK (`python-okx`), trade the sandbox speaking
OKX v5 spot over loopback HTTP; the venue refuses what OKX refuses with OKX's codes (v5 API docs)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import httpx
import pytest

from qari.adapters.simulator.harness import SandboxServer
from qari.adapters.simulator.recorded_rules import OKX_SOURCE
from qari.adapters.simulator.wire import on_tick

D = Decimal
PASSPHRASE = "Sandbox1"


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
def okx() -> Iterator[SandboxServer]:
    with SandboxServer.start(protocol="okx") as server:
        yield server


def _key(server: SandboxServer, **options: Any) -> tuple[str, str]:
    return server.create_key(passphrase=PASSPHRASE, **options)


def _signed(
    server: SandboxServer,
    method: str,
    path: str,
    key: str,
    secret: str,
    *,
    body: Any = None,
    passphrase: str = PASSPHRASE,
    skew_s: float = 0,
    tamper: bool = False,
) -> dict[str, Any]:
    """A request signed by hand as OKX documents it: base64 HMAC-SHA256 of ts + METHOD + path + body."""
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=skew_s)
    ts = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    text = json.dumps(body) if body is not None else ""
    digest = hmac.new(secret.encode(), f"{ts}{method}{path}{text}".encode(), hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode()
    if tamper:
        signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    headers = {
        "OK-ACCESS-KEY": key,
        "OK-ACCESS-SIGN": signature,
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-PASSPHRASE": passphrase,
        "Content-Type": "application/json",
    }
    response = httpx.request(method, f"{server.base_url}{path}", headers=headers, content=text, timeout=10)
    result: dict[str, Any] = response.json()
    return result


def _s_code(answer: dict[str, Any]) -> str:
    assert answer["code"] == "1" and answer["msg"] == "All operations failed", answer
    return str(answer["data"][0]["sCode"])


async def test_ccxt_okx_when_markets_and_account_read_then_recorded_rules_ticks_and_perm(
    okx: SandboxServer,
) -> None:
    key, secret = _key(okx, balances={"USDT": "10000"})
    ex = okx.ccxt(key, secret, password=PASSPHRASE)
    venue = okx.venue.exchange
    try:
        markets = await ex.load_markets()
        assert set(markets) == set(venue.instruments())
        btc = markets["BTC/USDT"]
        # BTC-USDT as OKX lists it (ccxt static markets/okx.json): tick 0.1, lot 1e-8, min size 0.00001
        assert btc["id"] == "BTC-USDT" and _d(btc["precision"]["price"]) == D("0.1")
        assert _d(btc["precision"]["amount"]) == D("0.00000001") and _d(btc["limits"]["amount"]["min"]) == D(
            "0.00001"
        )
        assert venue.instrument("BTC/USDT").source == OKX_SOURCE
        assert venue.instrument("SOL/USDT").source == "formula"
        for symbol in ("BTC/USDT", "SOL/USDT"):
            tick = venue.instrument(symbol).tick_size
            last = _d((await ex.fetch_ticker(symbol))["info"]["last"])
            assert last % tick == 0 and last == on_tick(venue.price(symbol), tick)
        book = await ex.fetch_order_book("BTC/USDT", 20)
        assert len(book["bids"]) == 20 and book["bids"][0][0] < book["asks"][0][0]
        candles = await ex.fetch_ohlcv("BTC/USDT", "1h", limit=24)
        assert len(candles) == 24 and candles[-1][0] - candles[0][0] == 23 * 3_600_000
        balance = await ex.fetch_balance()
        assert balance["USDT"]["free"] == 10000 and balance["USDT"]["used"] == 0
        config = (await ex.private_get_account_config())["data"][0]
        assert config["perm"] == "read_only,trade" and config["acctLv"] == "1"
    finally:
        await ex.close()


async def test_ccxt_okx_when_trading_then_limit_cancel_market_and_fills_in_okx_shapes(
    okx: SandboxServer,
) -> None:
    key, secret = _key(okx, balances={"USDT": "10000"})
    ex = okx.ccxt(key, secret, password=PASSPHRASE)
    try:
        await ex.load_markets()
        last = (await ex.fetch_ticker("BTC/USDT"))["last"]
        price = float(ex.price_to_precision("BTC/USDT", last * 0.97))
        buy = await ex.create_order(
            "BTC/USDT", "limit", "buy", 0.002, price, {"clientOrderId": "q12345leg11"}
        )
        assert buy["clientOrderId"] == "q12345leg11"
        listed = await ex.fetch_open_orders("BTC/USDT")
        assert [(o["id"], o["clientOrderId"], o["status"]) for o in listed] == [
            (buy["id"], "q12345leg11", "open")
        ]
        assert _d((await ex.fetch_balance())["USDT"]["used"]) == _d(price) * D("0.002")
        by_client = await ex.fetch_order("", "BTC/USDT", {"clOrdId": "q12345leg11"})
        assert by_client["id"] == buy["id"]
        await ex.cancel_order(buy["id"], "BTC/USDT")
        assert (await ex.fetch_order(buy["id"], "BTC/USDT"))["status"] == "canceled"

        bought = await ex.create_order("BTC/USDT", "market", "buy", 0.002, None, {"tgtCcy": "base_ccy"})
        sold = await ex.create_order("BTC/USDT", "market", "sell", 0.001)
        assert (await ex.fetch_order(bought["id"], "BTC/USDT"))["filled"] == pytest.approx(0.002)
        trades = await ex.fetch_my_trades("BTC/USDT")
        assert {t["order"] for t in trades} == {bought["id"], sold["id"]}
        assert all(t["fee"]["currency"] == "BTC" for t in trades if t["order"] == bought["id"])
        assert all(
            t["fee"]["currency"] == "USDT" and t["fee"]["cost"] > 0
            for t in trades
            if t["order"] == sold["id"]
        )
        balance = await ex.fetch_balance()
        assert _d(balance["BTC"]["total"]) == D("0.002") - D("0.000002") - D("0.001")
    finally:
        await ex.close()


async def test_ccxt_okx_when_algo_stop_placed_listed_cancelled_triggered_then_followed_to_its_order(
    okx: SandboxServer,
) -> None:
    key, secret = _key(okx, balances={"USDT": "10000", "BTC": "0.01"})
    ex = okx.ccxt(key, secret, password=PASSPHRASE)
    try:
        await ex.load_markets()
        last = (await ex.fetch_ticker("BTC/USDT"))["last"]
        stop = float(ex.price_to_precision("BTC/USDT", last * 0.995))
        spot_stop = {"stopLossPrice": stop, "tdMode": "cash"}
        placed = await ex.create_order(
            "BTC/USDT", "market", "sell", 0.001, None, {**spot_stop, "algoClOrdId": "stop1"}
        )
        assert placed["info"]["algoClOrdId"] == "stop1"
        pending = await ex.fetch_open_orders("BTC/USDT", None, None, {"ordType": "conditional"})
        assert [(o["id"], o["stopLossPrice"]) for o in pending] == [(placed["id"], stop)]
        assert await ex.fetch_open_orders("BTC/USDT") == []  # algos are listed apart, as on OKX
        other = await ex.create_order("BTC/USDT", "market", "sell", 0.001, None, spot_stop)
        await ex.cancel_order(other["id"], "BTC/USDT", {"trigger": True})
        pending = await ex.fetch_open_orders("BTC/USDT", None, None, {"ordType": "conditional"})
        assert [o["id"] for o in pending] == [placed["id"]]

        for _ in range(4 * 24 * 4):
            okx.advance(15 * 60_000)
            algo = await ex.fetch_order(placed["id"], "BTC/USDT", {"trigger": True})
            if algo["info"]["state"] != "live":
                break
        else:
            pytest.fail("the stop never triggered within four days of market")
        assert algo["info"]["state"] == "effective"
        spawned_id = algo["info"]["ordId"]
        assert spawned_id and spawned_id != placed["id"]
        spawned = await ex.fetch_order(spawned_id, "BTC/USDT")
        assert spawned["status"] == "closed" and spawned["filled"] == pytest.approx(0.001)
        assert (spawned["info"]["algoId"], spawned["info"]["algoClOrdId"]) == (placed["id"], "stop1")
        fills = [t for t in await ex.fetch_my_trades("BTC/USDT") if t["order"] == spawned_id]
        assert sum(_d(t["amount"]) for t in fills) == D("0.001")
    finally:
        await ex.close()


def test_okx_signed_requests_when_wrong_then_okx_codes(okx: SandboxServer) -> None:
    key, secret = _key(okx, balances={"USDT": "100"})
    read_only, ro_secret = _key(okx, read_only=1, permissions={"Spot": []})
    assert _signed(okx, "GET", "/api/v5/account/balance", key, secret)["code"] == "0"
    assert _signed(okx, "GET", "/api/v5/account/balance", key, secret, tamper=True)["code"] == "50113"
    assert _signed(okx, "GET", "/api/v5/account/balance", key, secret, passphrase="Other1")["code"] == "50105"
    assert _signed(okx, "GET", "/api/v5/account/balance", key, secret, skew_s=-45)["code"] == "50102"
    assert _signed(okx, "GET", "/api/v5/account/balance", "NOPE", secret)["code"] == "50111"
    no_passphrase = httpx.get(f"{okx.base_url}/api/v5/account/balance", headers={"OK-ACCESS-KEY": key})
    assert no_passphrase.status_code == 401 and no_passphrase.json()["code"] == "50106"
    config = _signed(okx, "GET", "/api/v5/account/config", read_only, ro_secret)["data"][0]
    assert config["perm"] == "read_only"

    price = okx.venue.exchange.price("BTC/USDT")
    order = {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "px": str(int(price * D("0.9"))),
    }

    def place(**extra: str) -> dict[str, Any]:
        return _signed(okx, "POST", "/api/v5/trade/order", key, secret, body={**order, **extra})

    assert (
        _signed(okx, "POST", "/api/v5/trade/order", read_only, ro_secret, body={**order, "sz": "0.001"})[
            "code"
        ]
        == "50120"
    )
    assert _s_code(place(sz="0.001", clOrdId="q12-345-leg11")) == "51000"  # letters and digits only
    assert _s_code(place(sz="0.001", clOrdId="x" * 33)) == "51000"
    assert _s_code(place(sz="0.001", tdMode="cross")) == "51000"  # a spot-mode account trades cash
    assert _s_code(place(sz="1")) == "51008"
    assert _s_code(place(sz="0.000001")) == "51020"
    assert _s_code(place(sz="0.0010000001")) == "51121"
    assert place(sz="0.001", clOrdId="q12345leg11")["code"] == "0"
    assert _s_code(place(sz="0.001", clOrdId="q12345leg11")) == "51016"
    algo = {"instId": "BTC-USDT", "tdMode": "cash", "side": "sell", "ordType": "conditional", "sz": "0.0001"}
    bad_algo_id = _signed(
        okx, "POST", "/api/v5/trade/order-algo", key, secret,
        body={**algo, "slTriggerPx": str(int(price * D("0.9"))), "slOrdPx": "-1", "algoClOrdId": "stop-1"},
    )  # fmt: skip
    assert _s_code(bad_algo_id) == "51000"
    missing = _signed(okx, "GET", "/api/v5/trade/order?instId=BTC-USDT&ordId=123", key, secret)
    assert missing["code"] == "51603"


def test_python_okx_sdk_when_pointed_at_sandbox_then_it_trades(okx: SandboxServer) -> None:
    from okx import Account, Trade  # OKX's official SDK (python-okx)

    key, secret = _key(okx, balances={"USDT": "1000"})
    credentials = {"api_key": key, "api_secret_key": secret, "passphrase": PASSPHRASE, "flag": "0"}
    account = Account.AccountAPI(**credentials, domain=okx.base_url)
    trade = Trade.TradeAPI(**credentials, domain=okx.base_url)
    details = {d["ccy"]: d for d in account.get_account_balance()["data"][0]["details"]}
    assert details["USDT"]["availBal"] == "1000"
    assert account.get_account_config()["data"][0]["perm"] == "read_only,trade"
    price = okx.venue.exchange.price("ETH/USDT")
    px = str((price * D("0.95")).quantize(D("0.01")))
    placed = trade.place_order("ETH-USDT", "cash", "buy", "limit", "0.01", clOrdId="sdk1", px=px)
    assert placed["code"] == "0" and placed["data"][0]["clOrdId"] == "sdk1"
    assert trade.get_order("ETH-USDT", clOrdId="sdk1")["data"][0]["state"] == "live"
    assert trade.cancel_order("ETH-USDT", clOrdId="sdk1")["code"] == "0"
    bought = trade.place_order("ETH-USDT", "cash", "buy", "market", "0.01", tgtCcy="base_ccy")
    assert bought["code"] == "0"
    filled = trade.get_order("ETH-USDT", ordId=bought["data"][0]["ordId"])["data"][0]
    assert filled["state"] == "filled" and D(filled["accFillSz"]) == D("0.01") and D(filled["fee"]) < 0
    fills = trade.get_fills(instType="SPOT", instId="ETH-USDT")["data"]
    assert {f["ordId"] for f in fills} == {bought["data"][0]["ordId"]}


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("maintenance", ccxt.ExchangeNotAvailable),
        ("http_5xx", ccxt.ExchangeNotAvailable),
        ("rate_limit", ccxt.RateLimitExceeded),
        ("reject_order", ccxt.BadRequest),  # ccxt reads sCode 51000 so
    ],
)
async def test_ccxt_okx_when_fault_injected_then_mapped_error_and_no_order(
    okx: SandboxServer, kind: str, error: type[Exception]
) -> None:
    key, secret = _key(okx, balances={"USDT": "1000"})
    ex = okx.ccxt(key, secret, password=PASSPHRASE)
    try:
        await ex.load_markets()
        okx.inject_fault(kind, count=1, paths=["/api/v5/trade"])
        with pytest.raises(error):
            await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 40_000)
        assert await ex.fetch_open_orders("BTC/USDT") == []
    finally:
        await ex.close()


def test_okx_history_when_older_than_its_window_then_only_the_longer_read_returns_it(
    okx: SandboxServer,
) -> None:
    key, secret = _key(okx, balances={"USDT": "1000"})
    order = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "10"}
    placed = _signed(okx, "POST", "/api/v5/trade/order", key, secret, body=order)["data"][0]["ordId"]
    okx.advance(4 * 86_400_000)  # past the 3-day fills window, inside the 7-day order window

    def ids(path: str) -> list[str]:
        return [row["ordId"] for row in _signed(okx, "GET", path, key, secret)["data"]]

    assert ids("/api/v5/trade/fills?instType=SPOT") == []
    assert set(ids("/api/v5/trade/fills-history?instType=SPOT")) == {placed}
    assert ids("/api/v5/trade/orders-history?instType=SPOT") == [placed]
    okx.advance(4 * 86_400_000)
    assert ids("/api/v5/trade/orders-history?instType=SPOT") == []
    assert ids("/api/v5/trade/orders-history-archive?instType=SPOT") == [placed]
