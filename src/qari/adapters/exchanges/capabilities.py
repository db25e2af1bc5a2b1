"""What each venue supports and how ccxt must be configured for it, declared as data.

Venue differences live here (and in the small `venues/<venue>.py` key probes), not in branches of the
generic client. `ccxt_options` switches off ccxt's start-up calls QARI does not need (currencies,
margin pairs, derivatives markets) and turns on time-difference handling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

from qari.core.client_ids import LETTERS_DIGITS, STRICTEST, ClientIdRules
from qari.core.orders import SpotStopKind


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
    id: str  # QARI's name for the venue ("sandbox": the built-in venue, in the protocol it speaks)
    ccxt_id: str
    name: str
    needs_passphrase: bool = False
    key_settings_page: str = "the exchange's API management page"
    # What the settings page tells the user when they create the key: what to tick, what never to.
    key_guide: str = ""
    key_never: str = ""
    live: bool = True  # a real exchange (the built-in sandbox is not)
    ccxt_options: Mapping[str, Any] = field(default_factory=lambda: _frozen({}))
    # How a spot stop rests on the venue. MARKET_TRIGGER: ccxt's unified `triggerPrice` on a market
    # order (Bybit: `POST /v5/order/create` with `"orderType":"Market","triggerPrice":..,
    # "orderFilter":"StopOrder"`, tested against the sandbox). STOP_LIMIT: `triggerPrice` on a limit
    # sell priced `stop_limit_offset` below the trigger (freqtrade's 0.99 ratio). NONE: the watchdog.
    spot_stop: SpotStopKind = SpotStopKind.MARKET_TRIGGER
    stop_limit_offset: Decimal = Decimal("0.01")
    # How the venue sizes a spot market buy: "base" (ccxt sends the base quantity), or "quote" (the venue
    # takes the quote cost: ccxt 4.5.90 computes amount x price and needs the price; its
    # `createMarketBuyOrderRequiresPrice=False` would make the amount the cost).
    market_buy_sized_in: Literal["base", "quote"] = "base"
    # Venues that list/cancel conditional orders separately from plain ones (`trigger: True` → Bybit
    # `orderFilter=StopOrder` on /v5/order/realtime and /v5/order/cancel).
    stop_orders_separate: bool = False
    # Extra params ccxt needs to look up an order by client id on this venue.
    fetch_order_params: Mapping[str, Any] = field(default_factory=lambda: _frozen({}))
    # The venue's rules for the client order id ccxt sends (field named per venue below).
    client_ids: ClientIdRules = STRICTEST
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
    # An account-mode probe ccxt runs only when markets load with a key: (ccxt method, the option it
    # sets). QARI loads markets without one, so the client runs it once per key and keeps the option.
    account_mode_probe: tuple[str, str] | None = None
    # Where a stop's client id is when ccxt's `clientOrderId` is empty (OKX algo records:
    # `algoClOrdId`; OKX also echoes the `clOrdId` ccxt sends to /trade/order-algo, read first). A stop
    # is sent with its client id under this name too (ccxt 4.5.90 sends only `clOrdId` to order-algo;
    # OKX's "Place algo order" names `algoClOrdId`, and the sandbox keys the algo by it).
    stop_client_id_field: str | None = None

    @property
    def spot_stop_market(self) -> bool:
        """The venue rests a spot stop of some kind (market trigger or stop-limit)."""
        return self.spot_stop is not SpotStopKind.NONE

    @property
    def stop_by_watchdog(self) -> bool:
        """The venue cannot rest a spot stop: QARI's server-side watchdog owns the stop, visibly."""
        return self.spot_stop is SpotStopKind.NONE

    # ccxt params that list a venue's conditional (stop) orders where `stop_orders_separate`; OKX's
    # canceled-algo history needs the algo kind named (ccxt raises ArgumentsRequired without it).
    stop_list_params: Mapping[str, Any] = field(default_factory=lambda: _frozen({"trigger": True}))


_SPOT_ONLY = {"types": ["spot"]}

_DASH_UNDERSCORE = LETTERS_DIGITS | {"-", "_"}
# Bybit `orderLinkId` (v5 "Place Order"): at most 36 of letters, digits, `-`, `_`.
_BYBIT_IDS = ClientIdRules(max_length=36, charset=_DASH_UNDERSCORE)

BYBIT = ExchangeCapabilities(
    id="bybit",
    ccxt_id="bybit",
    name="Bybit",
    key_guide=(
        "API Management → Create New Key → System-generated, Read-Write. Tick Unified Trading → Spot → Trade."
    ),
    key_never="Assets → Withdrawal or Transfer, Contract, Options, Derivatives.",
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

BINANCE = ExchangeCapabilities(
    id="binance",
    ccxt_id="binance",
    name="Binance",
    key_guide="API Management → Create API. Enable Reading and Enable Spot & Margin Trading.",
    key_never="Enable Withdrawals, Internal or Universal Transfer, Futures, Margin loans or Options.",
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
    # Spot symbols list STOP_LOSS_LIMIT in `orderTypes`, STOP_LOSS (market) not on all (ccxt's BTCUSDT
    # fixture has none: ccxt refuses the market stop). ccxt builds `type=STOP_LOSS_LIMIT`, `stopPrice`,
    # `price`, `timeInForce=GTC` (freqtrade's binance spot stop).
    spot_stop=SpotStopKind.STOP_LIMIT,
    # `newClientOrderId` (spot "New order"): `^[\.A-Z\:/a-z0-9_-]{1,36}$`.
    client_ids=ClientIdRules(max_length=36, charset=_DASH_UNDERSCORE | {".", ":", "/"}),
    fees_from_trades=True,
    fills_window_ms=24 * 3_600_000,
)

OKX = ExchangeCapabilities(
    id="okx",
    ccxt_id="okx",
    name="OKX",
    key_guide="API → Create V5 API key with permissions Read and Trade; keep the account in Spot mode.",
    key_never="Withdraw, or any derivatives trading mode.",
    needs_passphrase=True,
    key_settings_page="OKX → Profile → API keys → Edit",
    ccxt_options=_frozen(
        {"defaultType": "spot", "fetchMarkets": _SPOT_ONLY, "adjustForTimeDifference": True}
    ),
    stop_orders_separate=True,
    # `clOrdId` (v5 "Place order"): "a combination of case-sensitive alphanumerics ... up to 32 characters".
    client_ids=ClientIdRules(max_length=32, charset=LETTERS_DIGITS),
    stop_follow=StopFollow("id_field", "ordId"),
    stop_client_id_field="algoClOrdId",
    stop_list_params=_frozen({"trigger": True, "ordType": "trigger"}),
)

KUCOIN = ExchangeCapabilities(
    id="kucoin",
    ccxt_id="kucoin",
    name="KuCoin",
    key_guide="API Management → Create API with General and Spot Trading.",
    key_never="Transfer, Withdrawal, Inner Transfer, Margin or Futures.",
    needs_passphrase=True,
    key_settings_page="KuCoin → Account → API Management → Edit",
    # "uta": False skips ccxt's account-mode probe (classic spot account).
    ccxt_options=_frozen(
        {"defaultType": "spot", "fetchMarkets": _SPOT_ONLY, "adjustForTimeDifference": True, "uta": False}
    ),
    stop_orders_separate=True,
    # `clientOid` (HF "Add Order"): at most 40 of letters, digits, `_`, `-`.
    client_ids=ClientIdRules(max_length=40, charset=_DASH_UNDERSCORE),
    fills_window_ms=7 * 24 * 3_600_000,
    # High-frequency (HF) trading accounts: `GET /api/v1/hf/accounts/opened` sets ccxt's `options['hf']`;
    # with it, balances read `type=trade_hf` and orders go to `/api/v1/hf/orders`.
    account_mode_probe=("load_migration_status", "hf"),
)

GATE = ExchangeCapabilities(
    id="gate",
    ccxt_id="gate",
    name="Gate",
    key_guide="APIv4 keys: Spot/Margin Trade read-write; everything else read-only.",
    key_never="Wallet (withdraw/transfer) write, Futures, Delivery or Options write.",
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
    stop_follow=StopFollow("id_field", "fired_order_id"),
    market_buy_sized_in="quote",  # spot market buy `amount` is the quote cost
    # Spot price-triggered order (`/spot/price_orders`): `put.price` is required and `put.type` limit is
    # the documented default; ccxt's market variant sends `price: null`. ccxt builds `put: {type: limit,
    # price, time_in_force: gtc}`, `trigger: {price, rule: "<="}`; it expires after ccxt's 86400 s, and
    # the engine places a new one when it finds none resting.
    spot_stop=SpotStopKind.STOP_LIMIT,
)

BITGET = ExchangeCapabilities(
    id="bitget",
    ccxt_id="bitget",
    name="Bitget",
    key_guide="API Key Management: Read-Write with Spot trade only.",
    key_never="Withdraw, Transfer, Futures or Copy-trading permissions.",
    needs_passphrase=True,
    key_settings_page="Bitget → Profile → API Management → Edit",
    ccxt_options=_frozen(
        {"defaultType": "spot", "fetchMarkets": _SPOT_ONLY, "adjustForTimeDifference": True, "uta": False}
    ),
    stop_orders_separate=True,
    # `clientOid` (v2 spot "Place Order"): length not stated in the docs; EXCHANGES.md gives <= 40.
    client_ids=ClientIdRules(max_length=40, charset=_DASH_UNDERSCORE),
    stop_follow=StopFollow("client_id_is_stop_id"),
    market_buy_sized_in="quote",  # "For Market-Buy orders, [size] represents the number of quote coins"
)

MEXC = ExchangeCapabilities(
    id="mexc",
    ccxt_id="mexc",
    name="MEXC",
    key_guide="API Management: Spot — View Account Details and Trade.",
    key_never="Withdraw, Transfer, or Contract (futures) permissions.",
    key_settings_page="MEXC → Profile → API Management → Edit",
    ccxt_options=_frozen({"defaultType": "spot", "adjustForTimeDifference": True}),
    spot_stop=SpotStopKind.NONE,  # the spot v3 API has no conditional orders: the watchdog owns the stop
    # `newClientOrderId` (spot v3 "New Order"): EXCHANGES.md gives <= 32; charset kept to Binance's core.
    client_ids=ClientIdRules(max_length=32, charset=_DASH_UNDERSCORE),
    fees_from_trades=True,
)

HTX = ExchangeCapabilities(
    id="htx",
    ccxt_id="htx",
    name="HTX",
    key_guide="API Management: Read-only and Trade.",
    key_never="Withdraw.",
    key_settings_page="HTX → Profile → API Management → Edit",
    ccxt_options=_frozen(
        {
            "defaultType": "spot",
            "fetchMarkets": {"types": {"spot": True, "linear": False, "inverse": False}},
            "adjustForTimeDifference": True,
        }
    ),
    # ccxt 4.5.90 refuses a spot market trigger (NotSupported) but builds a stop-limit: `type:
    # sell-stop-limit`, `stop-price`, `operator: lte`, `price` (freqtrade does the same). It is a plain
    # order on /v1/order/orders/place, listed and cancelled with the others: no `trigger` lookups
    # (ccxt would send an unknown `trigger=true` to /v1/order/openOrders).
    spot_stop=SpotStopKind.STOP_LIMIT,
    # `client-order-id` ("Place a New Order"): at most 64 characters, unique within 8 hours.
    client_ids=ClientIdRules(max_length=64, charset=_DASH_UNDERSCORE),
    fills_window_ms=48 * 3_600_000,
    market_buy_sized_in="quote",  # `buy-market` `amount` is the order value in quote
)

SandboxProtocol = Literal["bybit", "binance", "okx"]
SANDBOX_PROTOCOLS: tuple[SandboxProtocol, ...] = ("bybit", "binance", "okx")


def _as_sandbox(venue: ExchangeCapabilities) -> ExchangeCapabilities:
    """The built-in sandbox speaking `venue`'s protocol: that venue's ccxt class, options and order
    facts (ids, stops, fees, windows), under QARI's "sandbox" id and words (QARI_SANDBOX_PROTOCOL)."""
    return replace(
        venue,
        id="sandbox",
        name="QARI Sandbox",
        key_guide=(
            "The built-in paper exchange. Use the one-click button above, or paste a key made by the "
            "sandbox admin API."
        ),
        key_never="",
        live=False,
        key_settings_page="the QARI sandbox (Settings → Exchange → Sandbox)",
    )


SANDBOX = _as_sandbox(BYBIT)  # the default protocol (Bybit v5)
SANDBOX_BINANCE = _as_sandbox(BINANCE)
SANDBOX_OKX = _as_sandbox(OKX)
_SANDBOXES: Mapping[str, ExchangeCapabilities] = MappingProxyType(
    {"bybit": SANDBOX, "binance": SANDBOX_BINANCE, "okx": SANDBOX_OKX}
)


def sandbox_capabilities(protocol: str) -> ExchangeCapabilities:
    """The sandbox venue for the protocol it speaks (`bybit`, `binance`, `okx`)."""
    try:
        return _SANDBOXES[protocol]
    except KeyError:
        raise ValueError(
            f"unknown sandbox protocol {protocol!r}; use one of {', '.join(SANDBOX_PROTOCOLS)}"
        ) from None


VENUES: Mapping[str, ExchangeCapabilities] = MappingProxyType(
    {v.id: v for v in (BYBIT, BINANCE, OKX, KUCOIN, GATE, BITGET, MEXC, HTX, SANDBOX)}
)
"""Explicit registry (no folder scanning): the eight supported exchanges plus the built-in sandbox."""


LIVE_VENUES: tuple[str, ...] = tuple(v.id for v in VENUES.values() if v.live)
"""The real exchanges QARI trades on, in the order it lists them."""


def venues_for(sandbox_protocol: str = "bybit") -> Mapping[str, ExchangeCapabilities]:
    """VENUES with the sandbox speaking `sandbox_protocol` (what the platform lists and connects)."""
    return MappingProxyType({**VENUES, SANDBOX.id: sandbox_capabilities(sandbox_protocol)})


def capabilities_for(exchange: str, sandbox_protocol: str = "bybit") -> ExchangeCapabilities:
    if exchange == SANDBOX.id:
        return sandbox_capabilities(sandbox_protocol)
    try:
        return VENUES[exchange]
    except KeyError:
        known = ", ".join(sorted(VENUES))
        raise ValueError(f"unknown exchange {exchange!r}; supported: {known}") from None
