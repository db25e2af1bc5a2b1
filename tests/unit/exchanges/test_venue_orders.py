"""Order requests per venue (issue 15), built by real ccxt 4.5.90 offline: HTX's spot stop is a
stop-limit (ccxt refuses a market trigger there) and its open-order lookups carry no `trigger`;
market buys are sized the way each venue reads them and carry no ccxt option as a raw parameter."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.contract.harness import offline_client
from tests.unit.exchanges.test_venue_client_ids import PLACED, SETUP

from qari.core.orders import OrderRequest, OrderType, Side

HTX_OPEN = {"status": "ok", "data": []}  # "Search All Open Orders" answer with none open


async def test_htx_when_stop_placed_then_sell_stop_limit_with_operator_lte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Arrange
    client, recorder = offline_client("htx", monkeypatch, [("POST", "", PLACED["htx"]), *SETUP])
    stop = OrderRequest(
        "BTC/USDT",
        Side.SELL,
        OrderType.STOP_MARKET,
        Decimal("0.001"),
        "q7-42-stop3",
        trigger_price=Decimal(25000),
    )

    # Act (today: ccxt raises NotSupported and the stop never rests)
    async with client:
        report = await client.create_order(stop)

    # Assert: HTX "Place a New Order" stop-limit fields, the limit 1 % under the trigger
    sent = recorder.requests[-1]
    assert sent.path == "/v1/order/orders/place"
    body = sent.params()
    assert (body["type"], body["stop-price"], body["operator"]) == ("sell-stop-limit", "25000", "lte")
    assert body["price"] == "24750" and body["amount"] == "0.001"
    assert report.exchange_order_id == "356501383558845"


async def test_htx_when_open_orders_listed_then_one_plain_lookup_without_trigger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, recorder = offline_client("htx", monkeypatch, [("GET", "/v1/order/openOrders", HTX_OPEN), *SETUP])
    async with client:
        assert await client.fetch_open_orders("BTC/USDT") == []
    lookups = [c for c in recorder.requests if c.path == "/v1/order/openOrders"]
    assert len(lookups) == 1 and "trigger" not in lookups[0].query


# The quantity field each venue reads for a spot market buy, and what it should carry for 0.001 BTC at
# a reference price of 30000: base venues the base quantity, quote venues the cost.
MARKET_BUY = {
    "bybit": ("qty", "0.001"),
    "binance": ("quantity", "0.001"),
    "okx": ("sz", "0.001"),
    "kucoin": ("size", "0.001"),
    "mexc": ("quantity", "0.001"),
    "gate": ("amount", "30"),
    "bitget": ("size", "30"),
    "htx": ("amount", "30"),
}


@pytest.mark.parametrize("venue", sorted(MARKET_BUY))
async def test_market_buy_when_built_then_sized_as_the_venue_reads_it_and_no_raw_ccxt_option(
    venue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange
    client, recorder = offline_client(venue, monkeypatch, [("POST", "", PLACED[venue]), *SETUP])
    buy = OrderRequest(
        "BTC/USDT", Side.BUY, OrderType.MARKET, Decimal("0.001"), "q7x42xexit9", price=Decimal(30000)
    )

    # Act
    async with client:
        await client.create_order(buy)

    # Assert
    sent = recorder.requests[-1].params()
    sent = sent["_"][0] if "_" in sent else sent
    field, value = MARKET_BUY[venue]
    assert sent[field] == value
    assert not any("createMarketBuyOrderRequiresPrice" in key for key in sent)
    if venue == "bybit":
        assert sent["marketUnit"] == "baseCoin"
    if venue == "okx":
        assert sent["tgtCcy"] == "base_ccy"


async def test_binance_and_gate_stops_when_built_then_stop_limit_one_percent_under(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Binance: STOP_LOSS (market) is not in every symbol's orderTypes (ccxt's BTCUSDT fixture lacks it,
    # and ccxt refuses the order); Gate's price order needs `put.price` (ccxt's market variant sends null).
    placed = {"binance": PLACED["binance"], "gate": {"id": 1}}
    sent = {}
    for venue in placed:
        client, recorder = offline_client(venue, monkeypatch, [("POST", "", placed[venue])])
        async with client:
            await client.create_order(
                OrderRequest(
                    "BTC/USDT",
                    Side.SELL,
                    OrderType.STOP_MARKET,
                    Decimal("0.001"),
                    "q7x42xstop3",
                    trigger_price=Decimal(25000),
                )
            )
        sent[venue] = recorder.requests[-1].params()
    binance = sent["binance"]
    assert (binance["type"], binance["stopPrice"], binance["price"]) == ("STOP_LOSS_LIMIT", "25000", "24750")
    gate = sent["gate"]
    assert (gate["put"]["type"], gate["put"]["price"], gate["put"]["side"]) == ("limit", "24750", "sell")
    assert (gate["trigger"]["price"], gate["trigger"]["rule"]) == ("25000", "<=")


@pytest.mark.parametrize("venue", sorted(MARKET_BUY))
async def test_market_exit_when_built_then_sells_the_base_quantity(
    venue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, recorder = offline_client(venue, monkeypatch, [("POST", "", PLACED[venue]), *SETUP])
    sell = OrderRequest("BTC/USDT", Side.SELL, OrderType.MARKET, Decimal("0.001"), "q7x42xexit9")
    async with client:
        await client.create_order(sell)
    sent = recorder.requests[-1].params()
    sent = sent["_"][0] if "_" in sent else sent
    field = MARKET_BUY[venue][0]
    assert sent[field] == "0.001"
    assert str(sent.get("type") or sent.get("orderType") or sent.get("ordType")).lower() in (
        "market",
        "sell-market",
    )


@pytest.mark.parametrize("venue", sorted(MARKET_BUY))
async def test_markets_when_loaded_then_btc_usdt_tick_and_lot_from_the_venue(
    venue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = offline_client(venue, monkeypatch)
    async with client:
        rules = (await client.load_markets())["BTC/USDT"]
    assert Decimal(0) < rules.tick_size <= 1 and Decimal(0) < rules.lot_size <= 1
    if venue == "binance":  # exchangeInfo filters: PRICE_FILTER.tickSize, LOT_SIZE.stepSize
        assert (rules.tick_size, rules.lot_size) == (Decimal("0.01"), Decimal("0.00001"))
