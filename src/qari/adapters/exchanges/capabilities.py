"""What each venue supports and how ccxt must be configured for it, declared as data.

Venue differences live here (and in the small `venues/<venue>.py` key probes), not in branches of the
generic client. `ccxt_options` switches off ccxt's start-up calls QARI does not need (currencies,
margin pairs, derivatives markets) and turns on time-difference handling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class StopFollow:
    """How a triggered spot stop is followed to the order that actually sold: the venue's trigger
    record carries no fills or average price.

    - "id_field": the record's raw `info[field]` names the follow-up order (OKX `ordId`, Gate
      `fired_order_id`; freqtrade follows the same fields); look it up by that id.
    - "client_id_is_stop_id": the follow-up is a plain order whose client id is the trigger record's
      id (Bitget; freqtrade's `_convert_stop_order`); found among the closed, then open orders.
    - "none": the record is the order itself (Bybit, Binance, KuCoin: fills are on it).
    """

    kind: Literal["none", "id_field", "client_id_is_stop_id"] = "none"
    field: str = ""
    unset: tuple[str, ...] = ("", "0")  # values of `field` meaning "not fired yet"


def _frozen(mapping: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(mapping)


@dataclass(frozen=True, slots=True)
class ExchangeCapabilities:
    id: str  # QARI's name for the venue ("sandbox" is the built-in Bybit-protocol venue)
    ccxt_id: str
    name: str
    needs_passphrase: bool = False
    key_settings_page: str = "the exchange's API management page"
    ccxt_options: Mapping[str, Any] = field(default_factory=lambda: _frozen({}))
    # Spot stop-market orders: ccxt's unified `triggerPrice` param places them on these venues. On Bybit
    # ccxt 4.5.90 sends `POST /v5/order/create` with `"orderType":"Market","triggerPrice":"<tick-rounded>",
    # "orderFilter":"StopOrder"` (tested against the sandbox).
    spot_stop_market: bool = True
    # Venues that list/cancel conditional orders separately from plain ones (`trigger: True` → Bybit
    # `orderFilter=StopOrder` on /v5/order/realtime and /v5/order/cancel).
    stop_orders_separate: bool = False
    # Extra params ccxt needs to look up an order by client id on this venue.
    fetch_order_params: Mapping[str, Any] = field(default_factory=lambda: _frozen({}))
    # --- wip/stops: order tracking facts ---
    # How a triggered stop's record leads to its fills (see `StopFollow`).
    stop_follow: StopFollow = StopFollow()
    # Order queries carry no commission (Binance /api/v3/order, MEXC): a filled order's fee (often in
    # the base coin) is read from its trades.
    fees_from_trades: bool = False
    # The longest span one trade-history query may cover (ms); older `since` is read window by window.
    # Binance myTrades: 24 h between startTime and endTime; KuCoin /api/v1/fills: 7 days; HTX
    # /v1/order/matchresults: 48 h. None: one query from `since` reaches now.
    fills_window_ms: int | None = None
    # ccxt params that list a venue's conditional (stop) orders where `stop_orders_separate`; OKX's
    # canceled-algo history needs the algo kind named (ccxt raises ArgumentsRequired without it).
    stop_list_params: Mapping[str, Any] = field(default_factory=lambda: _frozen({"trigger": True}))


_SPOT_ONLY = {"types": ["spot"]}

BYBIT = ExchangeCapabilities(
    id="bybit",
    ccxt_id="bybit",
    name="Bybit",
    key_settings_page="Bybit → Account → API Management",
    ccxt_options=_frozen(
        {
            "defaultType": "spot",
            "fetchMarkets": {"types": ["spot"]},
            "adjustForTimeDifference": True,
            "recvWindow": 10000,
            # Unified Trading Account preset: skips ccxt's query-api + account/info probes.
            "enableUnifiedAccount": True,
            "enableUnifiedMargin": False,
        }
    ),
    stop_orders_separate=True,
    fetch_order_params=_frozen({"acknowledged": True}),
)

SANDBOX = ExchangeCapabilities(
    id="sandbox",
    ccxt_id="bybit",
    name="QARI Sandbox",
    key_settings_page="the QARI sandbox (Settings → Exchange → Sandbox)",
    ccxt_options=BYBIT.ccxt_options,
    stop_orders_separate=True,
    fetch_order_params=BYBIT.fetch_order_params,
)

BINANCE = ExchangeCapabilities(
    id="binance",
    ccxt_id="binance",
    name="Binance",
    key_settings_page="Binance → Account → API Management → Edit restrictions",
    ccxt_options=_frozen(
        {
            "defaultType": "spot",
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "adjustForTimeDifference": True,
            "fetchOpenOrders": {"warnWithoutSymbol": False},
        }
    ),
    fees_from_trades=True,
    fills_window_ms=24 * 3_600_000,
)

OKX = ExchangeCapabilities(
    id="okx",
    ccxt_id="okx",
    name="OKX",
    needs_passphrase=True,
    key_settings_page="OKX → Profile → API keys → Edit",
    ccxt_options=_frozen(
        {"defaultType": "spot", "fetchMarkets": _SPOT_ONLY, "adjustForTimeDifference": True}
    ),
    stop_orders_separate=True,
    stop_follow=StopFollow("id_field", "ordId"),
    stop_list_params=_frozen({"trigger": True, "ordType": "trigger"}),
)

KUCOIN = ExchangeCapabilities(
    id="kucoin",
    ccxt_id="kucoin",
    name="KuCoin",
    needs_passphrase=True,
    key_settings_page="KuCoin → Account → API Management → Edit",
    # "uta": False skips ccxt's account-mode probe (classic spot account).
    ccxt_options=_frozen(
        {"defaultType": "spot", "fetchMarkets": _SPOT_ONLY, "adjustForTimeDifference": True, "uta": False}
    ),
    stop_orders_separate=True,
    fills_window_ms=7 * 24 * 3_600_000,
)

GATE = ExchangeCapabilities(
    id="gate",
    ccxt_id="gate",
    name="Gate",
    key_settings_page="Gate → Profile → API Management → Edit permissions",
    ccxt_options=_frozen(
        {
            "defaultType": "spot",
            "fetchMarkets": _SPOT_ONLY,
            "adjustForTimeDifference": True,
            "timeDifference": 0,
            "unifiedAccount": False,  # skips ccxt's account/detail probe before balance reads
        }
    ),
    stop_orders_separate=True,
    stop_follow=StopFollow("id_field", "fired_order_id"),
)

BITGET = ExchangeCapabilities(
    id="bitget",
    ccxt_id="bitget",
    name="Bitget",
    needs_passphrase=True,
    key_settings_page="Bitget → Profile → API Management → Edit",
    ccxt_options=_frozen(
        {"defaultType": "spot", "fetchMarkets": _SPOT_ONLY, "adjustForTimeDifference": True, "uta": False}
    ),
    stop_orders_separate=True,
    stop_follow=StopFollow("client_id_is_stop_id"),
)

MEXC = ExchangeCapabilities(
    id="mexc",
    ccxt_id="mexc",
    name="MEXC",
    key_settings_page="MEXC → Profile → API Management → Edit",
    ccxt_options=_frozen({"defaultType": "spot", "adjustForTimeDifference": True}),
    spot_stop_market=False,  # the spot v3 API has no conditional orders: stops are watched by the engine
    fees_from_trades=True,
)

HTX = ExchangeCapabilities(
    id="htx",
    ccxt_id="htx",
    name="HTX",
    key_settings_page="HTX → Profile → API Management → Edit",
    ccxt_options=_frozen(
        {
            "defaultType": "spot",
            "fetchMarkets": {"types": {"spot": True, "linear": False, "inverse": False}},
            "adjustForTimeDifference": True,
        }
    ),
    stop_orders_separate=True,
    fills_window_ms=48 * 3_600_000,
)

VENUES: Mapping[str, ExchangeCapabilities] = MappingProxyType(
    {v.id: v for v in (BYBIT, BINANCE, OKX, KUCOIN, GATE, BITGET, MEXC, HTX, SANDBOX)}
)
"""Explicit registry (no folder scanning): the eight supported exchanges plus the built-in sandbox."""


def capabilities_for(exchange: str) -> ExchangeCapabilities:
    try:
        return VENUES[exchange]
    except KeyError:
        known = ", ".join(sorted(VENUES))
        raise ValueError(f"unknown exchange {exchange!r}; supported: {known}") from None
