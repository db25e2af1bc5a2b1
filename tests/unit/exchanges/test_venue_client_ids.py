"""Client order ids per venue (issue 15): spelled within each venue's documented rules, sent by real
ccxt 4.5.90 verbatim (the request is built offline), and found again by a lookup by client id."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from tests.contract.harness import offline_client, payload
from tests.unit.engine.records import position_record

from qari.adapters.exchanges.capabilities import VENUES
from qari.core.errors import FatalError
from qari.core.orders import OrderRequest, OrderType, Side
from qari.engine.orders import client_order_id
from qari.trading.order import OrderRole
from qari.trading.position import PositionState

# The venues' documented rules, written out here independently of the venue data under test.
DOCUMENTED = {
    # Bybit v5 "Place Order" orderLinkId: max 36, numbers, letters, dashes, underscores.
    "bybit": ("orderLinkId", r"[A-Za-z0-9_-]{1,36}"),
    # Binance spot "New order" newClientOrderId: ^[\.A-Z\:/a-z0-9_-]{1,36}$.
    "binance": ("newClientOrderId", r"[.A-Z:/a-z0-9_-]{1,36}"),
    # OKX v5 "Place order" clOrdId: case-sensitive alphanumerics, up to 32.
    "okx": ("clOrdId", r"[A-Za-z0-9]{1,32}"),
    # KuCoin "Add Order" clientOid: max 40, numbers, letters, underscore, hyphen.
    "kucoin": ("clientOid", r"[A-Za-z0-9_-]{1,40}"),
    # Gate v4 "Create an order" text: t- then at most 28 of 0-9 A-Z a-z _ - .
    "gate": ("text", r"t-[A-Za-z0-9_.-]{1,28}"),
    # Bitget v2 "Place Order" clientOid (EXCHANGES.md: <= 40).
    "bitget": ("clientOid", r"[A-Za-z0-9_-]{1,40}"),
    # MEXC spot v3 "New Order" newClientOrderId (EXCHANGES.md: <= 32).
    "mexc": ("newClientOrderId", r"[A-Za-z0-9_-]{1,32}"),
    # HTX "Place a New Order" client-order-id: at most 64.
    "htx": ("client-order-id", r"[A-Za-z0-9_-]{1,64}"),
}

# Answers shaped as each venue's "place order" documentation sample (the test reads the request).
PLACED = {
    "bybit": {"retCode": 0, "retMsg": "OK", "result": {"orderId": "1609920528435648000"}, "time": 1},
    "binance": {"symbol": "BTCUSDT", "orderId": 1, "status": "NEW", "origQty": "0.001", "executedQty": "0"},
    "okx": {"code": "0", "data": [{"ordId": "1", "sCode": "0"}]},
    "kucoin": {"code": "200000", "data": {"orderId": "670fd33bf9406e0007ab3945"}},
    "gate": {"id": "1", "status": "open", "currency_pair": "BTC_USDT", "amount": "0.001", "left": "0.001"},
    "bitget": {"code": "00000", "msg": "success", "data": {"orderId": "1136353550487961603"}},
    "mexc": {"symbol": "BTCUSDT", "orderId": "C02__1", "origQty": "0.001", "transactTime": 1},
    "htx": {"status": "ok", "data": "356501383558845"},
}
AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HTX_ACCOUNTS = {"status": "ok", "data": [{"id": 1, "type": "spot", "subtype": "", "state": "working"}]}
# Set-up reads some venues' order paths make first: HTX's account id, KuCoin's account mode (classic).
SETUP = [
    ("GET", "account/accounts", HTX_ACCOUNTS),
    ("GET", "/api/v1/hf/accounts/opened", {"code": "200000", "data": False}),
]


def _longest_id(venue: str) -> str:
    """The engine's id for a large user and position id, the venue's rules applied."""
    position = position_record("BTC/USDT", PositionState.OPEN, AT)
    position.user_id, position.id, position.exchange_id = 123456, 987654321, venue
    return client_order_id("q", position, OrderRole.STOP, 999, VENUES[venue].client_ids)


@pytest.mark.parametrize("venue", sorted(DOCUMENTED))
async def test_client_id_when_sent_by_ccxt_then_within_the_venues_documented_rules(
    venue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange
    field, pattern = DOCUMENTED[venue]
    cid = _longest_id(venue)
    client, recorder = offline_client(venue, monkeypatch, [("POST", "", PLACED[venue]), *SETUP])

    # Act
    async with client:
        report = await client.create_order(
            OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, Decimal("0.001"), cid, price=Decimal(30000))
        )

    # Assert: the request carries it (plus the venue's own prefix) and the venue's rule accepts it
    sent = recorder.requests[-1].params()
    sent = sent["_"][0] if "_" in sent else sent  # OKX places through its batch endpoint: a list
    assert sent[field] == VENUES[venue].client_ids.sent_prefix + cid
    assert re.fullmatch(pattern, sent[field]), sent[field]
    assert report.client_order_id == cid


async def test_gate_when_order_reported_with_t_prefix_then_found_by_the_id_qari_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Arrange: Gate lists the order with `text: "t-q7-42-leg11"` (ccxt passes `text` through unchanged)
    client, _ = offline_client(
        "gate",
        monkeypatch,
        [
            ("GET", "/spot/price_orders", []),
            ("GET", "/spot/open_orders", payload("gate", "fetchOpenOrders: default, with a client id")),
        ],
    )

    # Act
    async with client:
        found = await client.fetch_order_by_client_id("BTC/USDT", "q7-42-leg11")
        listed = await client.fetch_open_orders("BTC/USDT")

    # Assert: the lookup round-trips exactly (today's code takes the order as gone)
    assert found is not None and found.exchange_order_id == "700604309511"
    assert [o.client_order_id for o in listed] == ["q7-42-leg11"]


async def test_create_order_when_client_id_breaks_venue_rules_then_refused_before_sending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, recorder = offline_client("okx", monkeypatch)
    request = OrderRequest(
        "BTC/USDT", Side.BUY, OrderType.LIMIT, Decimal("0.001"), "q1-2-leg11", price=Decimal(1)
    )
    async with client:
        with pytest.raises(FatalError, match="not allowed: '-'"):
            await client.create_order(request)
    assert recorder.requests == []


def test_owner_prefix_when_letters_only_venue_then_unambiguous_per_user() -> None:
    okx = VENUES["okx"].client_ids
    assert okx.build("q", 1, 23, "leg1", 1) == "q1x23xleg11"
    assert not okx.build("q", 12, 3, "leg1", 1).startswith(okx.owner_prefix("q", 1))
    assert VENUES["gate"].client_ids.from_venue("t-q1-2-stop3") == "q1-2-stop3"


async def test_okx_when_stop_rests_as_an_algo_order_then_found_by_client_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Arrange: no plain order open; the stop pending on /trade/orders-algo-pending (recorded payload)
    client, recorder = offline_client(
        "okx",
        monkeypatch,
        [
            ("GET", "/trade/orders-algo-pending", payload("okx", "fetchOpenOrders: spot trigger, client id")),
            ("GET", "/trade/orders-pending", {"code": "0", "data": [], "msg": ""}),
        ],
    )

    # Act
    async with client:
        found = await client.fetch_order_by_client_id("BTC/USDT", "q7x42xstop3")

    # Assert
    assert found is not None and found.exchange_order_id == "2017146754403004416"
    assert found.type is OrderType.STOP_MARKET and found.trigger_price == Decimal(25000)
    assert any("orders-algo-pending" in c.url for c in recorder.requests)


async def test_okx_and_gate_stops_when_built_then_carry_the_client_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    placed = {"okx": {"code": "0", "data": [{"algoId": "1", "sCode": "0"}]}, "gate": {"id": 1}}
    sent = {}
    for venue, field in (("okx", "clOrdId"), ("gate", "trigger")):
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
        sent[venue] = (recorder.requests[-1].path, recorder.requests[-1].params()[field])
    assert sent["okx"] == ("/api/v5/trade/order-algo", "q7x42xstop3")
    assert sent["gate"][0] == "/api/v4/spot/price_orders" and sent["gate"][1]["text"] == "q7x42xstop3"
