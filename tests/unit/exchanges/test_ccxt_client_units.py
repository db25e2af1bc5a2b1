"""The generic client's pure parts: order arguments (spot only), credential hygiene, URL rewriting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qari.adapters.exchanges.capabilities import VENUES, capabilities_for
from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, Credentials, build_ccxt, clear_credentials
from qari.core.errors import FatalError
from qari.core.orders import OrderRequest, OrderType, Side


def _request(kind: OrderType, side: Side = Side.SELL, **extra: Decimal) -> OrderRequest:
    return OrderRequest("BTC/USDT", side, kind, Decimal("0.001"), "cid-1", **extra)


def test_order_arguments_when_stop_market_then_trigger_price_param() -> None:
    client = CcxtExchangeClient("bybit")
    kind, price, params = client.order_arguments(
        _request(OrderType.STOP_MARKET, trigger_price=Decimal("25000"))
    )
    assert (kind, price) == ("market", None)
    assert params == {"clientOrderId": "cid-1", "triggerPrice": 25000.0}


def test_order_arguments_when_stop_on_venue_without_spot_stops_then_fatal() -> None:
    with pytest.raises(FatalError, match="no spot stop"):
        CcxtExchangeClient("mexc").order_arguments(_request(OrderType.STOP_MARKET, trigger_price=Decimal(1)))


def test_order_arguments_when_stop_is_a_buy_or_limit_lacks_price_then_fatal() -> None:
    client = CcxtExchangeClient("binance")
    with pytest.raises(FatalError):
        client.order_arguments(_request(OrderType.STOP_MARKET, side=Side.BUY, trigger_price=Decimal(1)))
    with pytest.raises(FatalError):
        client.order_arguments(_request(OrderType.LIMIT, side=Side.BUY))


def test_credentials_when_printed_then_only_last_four_of_key() -> None:
    credentials = Credentials("AKIA-visible-1234", "super-secret-value", "phrase-value")
    text = repr(credentials) + str(credentials) + f"{credentials}"
    assert "1234" in text and "super-secret-value" not in text and "phrase-value" not in text
    assert "AKIA-visible" not in text


@pytest.mark.parametrize("venue", sorted(VENUES))
def test_build_ccxt_when_local_base_then_every_api_url_rewritten_and_currencies_off(venue: str) -> None:
    exchange = build_ccxt(capabilities_for(venue), Credentials("k", "s", "p"), base_url="http://127.0.0.1:1/")

    def urls(value: object) -> list[str]:
        if isinstance(value, dict):
            return [u for v in value.values() for u in urls(v)]
        return [value] if isinstance(value, str) else []

    assert all(
        u.startswith("http://127.0.0.1:1/") or u == "http://127.0.0.1:1" for u in urls(exchange.urls["api"])
    )
    assert exchange.has["fetchCurrencies"] is False
    clear_credentials(exchange)
    assert (exchange.apiKey, exchange.secret, exchange.password) == ("", "", "")
