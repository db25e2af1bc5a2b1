"""The generic client's pure parts: order arguments (spot only), credential hygiene, URL rewriting,
the rate limiter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from ccxt.async_support.base.throttler import Throttler

from qari.adapters.exchanges.capabilities import VENUES, ExchangeCapabilities, capabilities_for
from qari.adapters.exchanges.ccxt_client import (
    CcxtExchangeClient,
    CcxtVenue,
    Credentials,
)
from qari.adapters.exchanges.ccxt_instances import (
    build_ccxt,
    clear_credentials,
    clone_ccxt,
    deep_copy,
    public_ccxt,
)
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


def test_order_arguments_when_okx_stop_then_client_id_also_sent_as_algo_client_id() -> None:
    """ccxt 4.5.90 sends only `clOrdId` to /trade/order-algo; OKX names the algo's id `algoClOrdId`
    (the sandbox keys the algo by it: without it the engine never found its stop and replaced it)."""
    request = OrderRequest(
        "BTC/USDT", Side.SELL, OrderType.STOP_MARKET, Decimal("0.001"), "q1x1xstop2", trigger_price=Decimal(9)
    )
    _, _, params = CcxtExchangeClient("okx").order_arguments(request)
    assert params["algoClOrdId"] == params["clientOrderId"] == "q1x1xstop2"


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


def test_clone_when_made_then_own_options_and_state_shared_markets_and_no_resources() -> None:
    source = public_ccxt(capabilities_for("bybit"), base_url="http://127.0.0.1:1/")
    source.set_markets({})
    clone = clone_ccxt(source)
    clone.options["qariProbe"] = 123
    clone.options["fetchMarkets"]["types"].append("linear")
    clone.headers["X-Test"] = "1"
    clone.apiKey = "clone-only-key"

    assert "qariProbe" not in source.options
    assert "linear" not in source.options["fetchMarkets"]["types"]
    assert "X-Test" not in source.headers and not source.apiKey
    assert clone.markets is source.markets
    assert clone.session is None and clone.tcp_connector is None and clone.own_session is False


def test_deep_copy_when_plain_or_unpicklable_data_then_equal_and_independent() -> None:
    plain = {"a": [1, {"b": "c"}], "d": None, "e": True}
    odd = {"f": lambda: 1, "g": [2]}  # pickle cannot copy a lambda: copy.deepcopy does

    plain_copy, odd_copy = deep_copy(plain), deep_copy(odd)
    plain_copy["a"][1]["b"] = "changed"
    odd_copy["g"].append(3)

    assert plain == {"a": [1, {"b": "c"}], "d": None, "e": True}
    assert odd["g"] == [2] and odd_copy["f"] is odd["f"]


def test_clone_when_source_holds_a_key_then_refused() -> None:
    keyed = build_ccxt(capabilities_for("bybit"), Credentials("k", "s"))
    with pytest.raises(FatalError, match="credentials"):
        clone_ccxt(keyed)


def test_public_instances_when_built_twice_then_separate_rate_limiters_and_options() -> None:
    caps = capabilities_for("okx")
    first, second = public_ccxt(caps), public_ccxt(caps)
    first.options["qariProbe"] = 5

    assert first.throttler is not second.throttler and "qariProbe" not in second.options
    assert first.own_session and second.own_session and first.session is None


class _CountingSleep:
    """`asyncio.sleep` that counts the waits that are not a bare yield (`sleep(0)`)."""

    def __init__(self) -> None:
        self.waits = 0
        self._sleep = asyncio.sleep

    async def __call__(self, delay: float, result: object = None) -> object:
        if delay > 0:
            self.waits += 1
        return await self._sleep(delay, result)


async def _admission_times(throttler: object, costs: list[float]) -> list[float]:
    started = time.perf_counter()
    times = []
    for cost in costs:
        await throttler(cost)  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return times


@pytest.mark.parametrize("build", [public_ccxt, lambda caps: CcxtVenue(caps).client_instance()])
async def test_rate_limiter_when_a_request_waits_then_wakes_once_and_keeps_ccxts_spacing(
    build: Callable[[ExchangeCapabilities], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bybit: 20 ms per token; an order read costs 5 tokens, so the next request waits ~100 ms.
    exchange = build(capabilities_for("bybit"))
    sleep = _CountingSleep()
    monkeypatch.setattr(asyncio, "sleep", sleep)

    times = await _admission_times(exchange.throttler, [5, 5, 1])

    # ccxt's rule: a request waits until the tokens the previous one took have refilled (counted from
    # when they were due: a late wake-up on a loaded machine does not push the next one back).
    assert times[1] >= 0.099 and times[2] >= 0.198
    assert sleep.waits <= 4
    ccxt_sleep = _CountingSleep()
    monkeypatch.setattr(asyncio, "sleep", ccxt_sleep)
    reference = await _admission_times(Throttler(exchange.tokenBucket), [5, 5, 1])
    assert reference[1] >= 0.099 and reference[2] >= 0.198
    assert ccxt_sleep.waits > 20  # ccxt's own limiter polls every millisecond (fewer when loaded)
