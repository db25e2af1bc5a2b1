"""What each venue supports and how ccxt must be configured for it, declared as data.

Venue differences live here (and in the small `venues/<venue>.py` key probes), not in branches of the
generic client. `ccxt_options` switches off ccxt's start-up calls QARI does not need (currencies,
margin pairs, derivatives markets) and turns on time-difference handling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from qari.core.client_ids import LETTERS_DIGITS, STRICTEST, ClientIdRules


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
    # The venue's rules for the client order id ccxt sends (field named per venue below).
    client_ids: ClientIdRules = STRICTEST
    # An account-mode probe ccxt runs only when markets load with a key: (ccxt method, the option it
    # sets). QARI loads markets without one, so the client runs it once per key and keeps the option.
    account_mode_probe: tuple[str, str] | None = None


_SPOT_ONLY = {"types": ["spot"]}

_DASH_UNDERSCORE = LETTERS_DIGITS | {"-", "_"}
# Bybit `orderLinkId` (v5 "Place Order"): at most 36 of letters, digits, `-`, `_`.
_BYBIT_IDS = ClientIdRules(max_length=36, charset=_DASH_UNDERSCORE)

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
    client_ids=_BYBIT_IDS,
)

SANDBOX = ExchangeCapabilities(
    id="sandbox",
    ccxt_id="bybit",
    name="QARI Sandbox",
    key_settings_page="the QARI sandbox (Settings → Exchange → Sandbox)",
    ccxt_options=BYBIT.ccxt_options,
    stop_orders_separate=True,
    fetch_order_params=BYBIT.fetch_order_params,
    client_ids=_BYBIT_IDS,
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
    # `newClientOrderId` (spot "New order"): `^[\.A-Z\:/a-z0-9_-]{1,36}$`.
    client_ids=ClientIdRules(max_length=36, charset=_DASH_UNDERSCORE | {".", ":", "/"}),
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
    # `clOrdId` (v5 "Place order"): "a combination of case-sensitive alphanumerics ... up to 32 characters".
    client_ids=ClientIdRules(max_length=32, charset=LETTERS_DIGITS),
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
    # `clientOid` (HF "Add Order"): at most 40 of letters, digits, `_`, `-`.
    client_ids=ClientIdRules(max_length=40, charset=_DASH_UNDERSCORE),
    # High-frequency (HF) trading accounts: `GET /api/v1/hf/accounts/opened` sets ccxt's `options['hf']`;
    # with it, balances read `type=trade_hf` and orders go to `/api/v1/hf/orders`.
    account_mode_probe=("load_migration_status", "hf"),
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
    # `text` (v4 "Create an order"): "prefixed with t-, no longer than 28 bytes without t- prefix, only
    # 0-9, A-Z, a-z, _, - or ."; ccxt 4.5.90 adds the `t-` and parses `text` back as sent (with it).
    client_ids=ClientIdRules(max_length=28, charset=_DASH_UNDERSCORE | {"."}, sent_prefix="t-"),
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
    # `clientOid` (v2 spot "Place Order"): length not stated in the docs; EXCHANGES.md gives <= 40.
    client_ids=ClientIdRules(max_length=40, charset=_DASH_UNDERSCORE),
)

MEXC = ExchangeCapabilities(
    id="mexc",
    ccxt_id="mexc",
    name="MEXC",
    key_settings_page="MEXC → Profile → API Management → Edit",
    ccxt_options=_frozen({"defaultType": "spot", "adjustForTimeDifference": True}),
    spot_stop_market=False,  # the spot v3 API has no conditional orders: stops are watched by the engine
    # `newClientOrderId` (spot v3 "New Order"): EXCHANGES.md gives <= 32; charset kept to Binance's core.
    client_ids=ClientIdRules(max_length=32, charset=_DASH_UNDERSCORE),
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
    # `client-order-id` ("Place a New Order"): at most 64 characters, unique within 8 hours.
    client_ids=ClientIdRules(max_length=64, charset=_DASH_UNDERSCORE),
)

VENUES: Mapping[str, ExchangeCapabilities] = MappingProxyType(
    {v.id: v for v in (BYBIT, BINANCE, OKX, KUCOIN, GATE, BITGET, MEXC, HTX, SANDBOX)}
)
"""Explicit registry (no folder scanning): the eight supported exchanges plus the built-in sandbox."""


CLIENT_IDS: Mapping[str, ClientIdRules] = MappingProxyType({v.id: v.client_ids for v in VENUES.values()})
"""Each venue's client-id rules by QARI's exchange id: the engine spells its ids with these."""


def capabilities_for(exchange: str) -> ExchangeCapabilities:
    try:
        return VENUES[exchange]
    except KeyError:
        known = ", ".join(sorted(VENUES))
        raise ValueError(f"unknown exchange {exchange!r}; supported: {known}") from None
