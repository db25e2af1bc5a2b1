"""Acceptance: unmodified async ccxt `bybit` trades the sandbox over loopback HTTP."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from qari.adapters.simulator.harness import SandboxServer
from qari.adapters.simulator.wire import on_tick

D = Decimal
PRICE_FIELDS = ("lastPrice", "bid1Price", "ask1Price", "prevPrice24h", "highPrice24h", "lowPrice24h")


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


async def test_ccxt_market_data_when_loaded_then_parsed_values_match_the_venue(
    sandbox_server: SandboxServer,
) -> None:
    key, secret = sandbox_server.create_key(balances={"USDT": "10000"})
    ex = sandbox_server.ccxt(key, secret)
    venue = sandbox_server.venue.exchange
    try:
        markets = await ex.load_markets()
        assert {"BTC/USDT", "ETH/USDT"} <= set(markets)
        btc = markets["BTC/USDT"]
        inst = venue.instrument("BTC/USDT")
        assert btc["spot"] and btc["active"] and btc["id"] == "BTCUSDT"
        assert _d(btc["precision"]["price"]) == inst.tick_size
        assert _d(btc["precision"]["amount"]) == inst.base_precision
        assert _d(btc["limits"]["cost"]["min"]) == inst.min_order_amt

        server_ms = await ex.fetch_time()
        assert abs(server_ms - sandbox_server.venue.auth_now_ms()) < 5_000

        ticker = await ex.fetch_ticker("BTC/USDT")
        assert _d(ticker["last"]) == on_tick(venue.price("BTC/USDT"), inst.tick_size)
        assert ticker["bid"] <= ticker["last"] <= ticker["ask"] and ticker["bid"] < ticker["ask"]
        # Found on the old code: lastPrice (and the 24 h prices) printed with more decimals than the tick.
        for symbol in ("BTC/USDT", "SOL/USDT", "DOGE/USDT"):
            tick = venue.instrument(symbol).tick_size
            raw = (await ex.fetch_ticker(symbol))["info"]
            for field in PRICE_FIELDS:
                assert D(raw[field]) % tick == 0, f"{symbol} {field} {raw[field]} is off the tick {tick}"
        tickers = await ex.fetch_tickers()
        assert set(tickers) == set(venue.instruments())

        book = await ex.fetch_order_book("BTC/USDT")
        assert len(book["bids"]) == 50 and len(book["asks"]) == 50
        assert book["bids"][0][0] == ticker["bid"] and book["asks"][0][0] == ticker["ask"]
        assert book["bids"][0][0] > book["bids"][1][0] and book["asks"][0][0] < book["asks"][1][0]

        candles = await ex.fetch_ohlcv("BTC/USDT", "1h", limit=24)
        assert len(candles) == 24
        assert all(b[0] - a[0] == 3_600_000 for a, b in itertools.pairwise(candles))
        assert candles[-1][0] <= venue.now_ms < candles[-1][0] + 3_600_000
        assert all(c[3] <= min(c[1], c[4]) and c[2] >= max(c[1], c[4]) for c in candles)
        prints = await ex.fetch_trades("BTC/USDT")
        assert prints and all(t["timestamp"] <= venue.now_ms and t["side"] in ("buy", "sell") for t in prints)
        since = candles[0][0]
        again = await ex.fetch_ohlcv("BTC/USDT", "1h", since=since, limit=3)
        assert [c[0] for c in again] == [since, since + 3_600_000, since + 7_200_000]
    finally:
        await ex.close()


async def test_ccxt_orders_when_filled_then_balances_move_by_fill_and_fee(
    sandbox_server: SandboxServer,
) -> None:
    key, secret = sandbox_server.create_key(balances={"USDT": "10000"})
    ex = sandbox_server.ccxt(key, secret)
    try:
        await ex.load_markets()
        balance = await ex.fetch_balance()
        assert balance["USDT"]["free"] == 10000 and balance["USDT"]["used"] == 0

        fee_rate = await ex.fetch_trading_fee("BTC/USDT")
        assert fee_rate["maker"] == fee_rate["taker"] == 0.001

        # market buy by base amount: taker, fee charged in BTC
        order = await ex.create_order("BTC/USDT", "market", "buy", 0.01, None, {"marketUnit": "baseCoin"})
        filled = await ex.fetch_order(order["id"], "BTC/USDT", {"acknowledged": True})
        assert filled["status"] == "closed" and filled["filled"] == pytest.approx(0.01)
        trades = await ex.fetch_my_trades("BTC/USDT")
        assert len(trades) >= 1 and {t["order"] for t in trades} == {order["id"]}
        cost = sum(_d(t["cost"]) for t in trades)
        fee = sum(_d(t["fee"]["cost"]) for t in trades)
        assert all(t["fee"]["currency"] == "BTC" and t["takerOrMaker"] == "taker" for t in trades)
        assert fee == D("0.01") * D("0.001")
        balance = await ex.fetch_balance()
        assert _d(balance["BTC"]["total"]) == D("0.01") - fee
        assert _d(balance["USDT"]["total"]) == D("10000") - cost

        # limit sell above the market rests and locks the base coin
        ticker = await ex.fetch_ticker("BTC/USDT")
        ask_price = float(ex.price_to_precision("BTC/USDT", ticker["last"] * 1.002))
        sell = await ex.create_order("BTC/USDT", "limit", "sell", 0.005, ask_price, {"clientOrderId": "tp-1"})
        open_orders = await ex.fetch_open_orders("BTC/USDT")
        listed = [(o["id"], o["clientOrderId"], o["status"]) for o in open_orders]
        assert listed == [(sell["id"], "tp-1", "open")]
        balance = await ex.fetch_balance()
        assert _d(balance["BTC"]["used"]) == D("0.005")

        # the price path crosses the limit: a maker fill, fee in USDT
        for _ in range(96):
            sandbox_server.advance(15 * 60_000)
            state = await ex.fetch_order(sell["id"], "BTC/USDT", {"acknowledged": True})
            if state["status"] == "closed":
                break
        else:
            pytest.fail("the limit sell never filled within a day of market")
        sell_trades = [t for t in await ex.fetch_my_trades("BTC/USDT") if t["order"] == sell["id"]]
        assert all(t["takerOrMaker"] == "maker" and t["fee"]["currency"] == "USDT" for t in sell_trades)
        assert all(_d(t["price"]) == _d(ask_price) for t in sell_trades)
        proceeds = sum(_d(t["cost"]) for t in sell_trades)
        sell_fee = sum(_d(t["fee"]["cost"]) for t in sell_trades)
        assert sell_fee == proceeds * D("0.001")
        balance = await ex.fetch_balance()
        assert _d(balance["USDT"]["total"]) == D("10000") - cost + proceeds - sell_fee
        assert _d(balance["BTC"]["total"]) == D("0.005") - fee and _d(balance["BTC"]["used"]) == 0
    finally:
        await ex.close()


async def test_ccxt_limit_and_stop_orders_when_cancelled_then_funds_released(
    sandbox_server: SandboxServer,
) -> None:
    key, secret = sandbox_server.create_key(balances={"USDT": "10000", "BTC": "0.1"})
    ex = sandbox_server.ccxt(key, secret)
    try:
        await ex.load_markets()
        last = (await ex.fetch_ticker("BTC/USDT"))["last"]
        buy_price = float(ex.price_to_precision("BTC/USDT", last * 0.9))
        buy = await ex.create_order("BTC/USDT", "limit", "buy", 0.02, buy_price, {"clientOrderId": "entry-1"})
        stop_price = float(ex.price_to_precision("BTC/USDT", last * 0.8))
        stop = await ex.create_order("BTC/USDT", "market", "sell", 0.05, None, {"stopLossPrice": stop_price})
        conditional = await ex.create_order(
            "BTC/USDT", "market", "sell", 0.01, None, {"triggerPrice": stop_price}
        )

        balance = await ex.fetch_balance()
        assert _d(balance["USDT"]["used"]) == _d(buy_price) * D("0.02")
        assert _d(balance["BTC"]["used"]) == D("0.05")  # the TP/SL order locks; the conditional does not

        by_id = {o["id"]: o for o in await ex.fetch_open_orders("BTC/USDT")}
        assert set(by_id) == {buy["id"], stop["id"], conditional["id"]}
        assert by_id[stop["id"]]["triggerPrice"] == pytest.approx(stop_price)
        assert by_id[buy["id"]]["clientOrderId"] == "entry-1" and by_id[buy["id"]]["price"] == buy_price

        await ex.cancel_order(buy["id"], "BTC/USDT")
        await ex.cancel_order(stop["id"], "BTC/USDT")
        fetched = await ex.fetch_order(buy["id"], "BTC/USDT", {"acknowledged": True})
        assert fetched["status"] == "canceled"
        stop_state = await ex.fetch_order(stop["id"], "BTC/USDT", {"acknowledged": True})
        assert stop_state["status"] == "canceled"
        balance = await ex.fetch_balance()
        assert balance["USDT"]["used"] == 0 and balance["BTC"]["used"] == 0
        assert [o["id"] for o in await ex.fetch_open_orders("BTC/USDT")] == [conditional["id"]]
    finally:
        await ex.close()


async def test_ccxt_stop_order_when_price_falls_through_trigger_then_sells_at_market(
    sandbox_server: SandboxServer,
) -> None:
    key, secret = sandbox_server.create_key(balances={"BTC": "0.1"})
    ex = sandbox_server.ccxt(key, secret)
    venue = sandbox_server.venue.exchange
    try:
        await ex.load_markets()
        last = (await ex.fetch_ticker("BTC/USDT"))["last"]
        trigger = float(ex.price_to_precision("BTC/USDT", last * 0.995))
        stop = await ex.create_order("BTC/USDT", "market", "sell", 0.05, None, {"stopLossPrice": trigger})
        for _ in range(200):
            sandbox_server.advance(15 * 60_000)
            resting = venue.get_order(sandbox_server.account_of(key), order_id=stop["id"])
            if resting is not None and resting.status != "Untriggered":
                break
        state = await ex.fetch_order(stop["id"], "BTC/USDT", {"acknowledged": True})
        assert state["status"] == "closed" and state["filled"] == pytest.approx(0.05)
        assert state["average"] < trigger  # sold into the bids below the trigger
        balance = await ex.fetch_balance()
        assert _d(balance["BTC"]["total"]) == D("0.05")
        assert _d(balance["USDT"]["total"]) == _d(state["cost"]) * D("0.999")
    finally:
        await ex.close()
