"""Binance spot over HTTP (`/api/v3/...` and `/sapi/v1/account/apiRestrictions`), on the shared venue core.

What ccxt's `binance` and Binance's own connector expect, after Binance's spot API documentation:
errors are `{"code": <negative int>, "msg": ...}` with HTTP 400 (401 for key problems, 429 for limits);
numbers are strings with eight decimals; ids and times are integers. Signed calls (USER_DATA, TRADE)
are checked in this order: `X-MBX-APIKEY` present (-2014) and known (-2015), `timestamp` and
`signature` sent (-1102), `recvWindow` at most 60000 (-1131), the timestamp inside the window against
the real time (-1021: `now - recvWindow <= timestamp < now + 1000`), HMAC-SHA256 of the query string
followed by the body, both without `signature`, exactly as received (-1022), then the key's IP list and,
for trading, its spot-trading permission (-2015: Binance gives one answer for a bad key, IP or
permission).

Orders map onto the core's records: LIMIT / LIMIT_MAKER are limit orders (GTC/IOC/FOK, post-only);
MARKET sizes by `quantity` (base) or `quoteOrderQty`; STOP_LOSS(_LIMIT) and TAKE_PROFIT(_LIMIT) are
conditional orders that lock their funds when placed and keep their order id when they trigger, as on
Binance. A `newClientOrderId` names one open order (a closed order's id can be used again).

Why one file of ~1,000 lines: it is the whole of one venue's wire protocol (parameter rules, renderings,
market, account and order routes, auth, envelopes and error codes), in sections that read against
that venue's API documentation; split by section, one venue's rules would be spread over several
files. The market and the accounts are the venue core's (`exchange.py`), the helpers every protocol
shares are `wire.py`'s.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qari.adapters.simulator.exchange import Execution, Order
from qari.adapters.simulator.matching import (
    DUPLICATE_LINK_ID,
    INSUFFICIENT_BALANCE,
    ORDER_NOT_FOUND,
    ORDER_REJECTED,
    PRICE_DECIMALS,
    QTY_DECIMALS,
    QTY_TOO_LARGE,
    QTY_TOO_SMALL,
    UNKNOWN_SYMBOL,
    VALUE_TOO_LARGE,
    VALUE_TOO_SMALL,
    Instrument,
    VenueError,
)
from qari.adapters.simulator.prices import DAY_MS, timeframe_ms_or_month
from qari.adapters.simulator.venue import ApiKey, SandboxVenue
from qari.adapters.simulator.wire import (
    fixed8,
    on_tick,
    parse_decimal,
    parse_int,
    transport_fault,
    with_faults,
)

log = logging.getLogger(__name__)

Params = dict[str, str]
Handler = Callable[[SandboxVenue, Params, ApiKey | None], Any]

PREFIXES = ("/api/v3/", "/sapi/v1/")
CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
MAX_RECV_WINDOW = 60_000
INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d", "1w", "1M")
ORDER_TYPES = (
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
)
STP_MODES = ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "NONE"]
_SIGNING = frozenset({"timestamp", "recvWindow", "signature"})
# The parameters Binance reads per trading call; anything else is refused with -1104, as Binance does.
_ORDER_PARAMS = _SIGNING | {
    "symbol",
    "side",
    "type",
    "timeInForce",
    "quantity",
    "quoteOrderQty",
    "price",
    "newClientOrderId",
    "strategyId",
    "strategyType",
    "stopPrice",
    "trailingDelta",
    "icebergQty",
    "newOrderRespType",
    "selfTradePreventionMode",
}
_CANCEL_PARAMS = _SIGNING | {
    "symbol",
    "orderId",
    "origClientOrderId",
    "newClientOrderId",
    "cancelRestrictions",
}
BAD_KEY = "Invalid API-key, IP, or permissions for action."


class BinanceError(Exception):
    """A Binance error body `{"code", "msg"}` and the HTTP status it comes with."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status


def _lot(_: str) -> str:
    return "Filter failure: LOT_SIZE"


# The core's (Bybit-coded) refusals as Binance answers them.
_FROM_CORE: dict[int, tuple[int, Callable[[str], str]]] = {
    INSUFFICIENT_BALANCE: (-2010, lambda _: "Account has insufficient balance for requested action."),
    QTY_TOO_SMALL: (-1013, _lot),
    QTY_TOO_LARGE: (-1013, _lot),
    QTY_DECIMALS: (-1013, _lot),
    PRICE_DECIMALS: (-1013, lambda _: "Filter failure: PRICE_FILTER"),
    VALUE_TOO_SMALL: (-1013, lambda _: "Filter failure: NOTIONAL"),
    VALUE_TOO_LARGE: (-1013, lambda _: "Filter failure: NOTIONAL"),
    DUPLICATE_LINK_ID: (-2010, lambda _: "Duplicate order sent."),
    ORDER_NOT_FOUND: (-2013, lambda _: "Order does not exist."),
    ORDER_REJECTED: (-2010, lambda _: "New order rejected."),
}


def from_core(e: VenueError) -> BinanceError:
    if e.message == UNKNOWN_SYMBOL:
        return BinanceError(-1121, "Invalid symbol.")
    mapped = _FROM_CORE.get(e.code)
    if mapped is None:
        return BinanceError(-1102, e.message)
    code, message = mapped
    return BinanceError(code, message(e.message))


# ------------------------------------------------------------------------------------------ params
def _all_read(params: Params, known: frozenset[str] | set[str]) -> None:
    """Binance refuses a call carrying a parameter it does not read (e.g. a client library's option
    sent through as a raw parameter)."""
    unread = [name for name in params if name not in known]
    if unread:
        raise BinanceError(
            -1104,
            f"Not all sent parameters were read; read '{len(params) - len(unread)}' parameter(s) "
            f"but was sent '{len(params)}'.",
        )


def _mandatory(name: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def _dec(params: Params, name: str, *, required: bool = False) -> Decimal | None:
    try:
        value = parse_decimal(params.get(name))
    except ValueError:
        raise BinanceError(
            -1100,
            f"Illegal characters found in parameter '{name}'; "
            "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        ) from None
    if value is None and required:
        raise _mandatory(name)
    if value is not None and value < 0:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.")
    return value


def _int(params: Params, name: str, default: int | None = None) -> int | None:
    try:
        value = parse_int(params.get(name))
    except ValueError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None
    return default if value is None else value


def _limit(params: Params, default: int, maximum: int) -> int:
    value = _int(params, "limit", default) or default
    return max(1, min(value, maximum))


def _symbol(venue: SandboxVenue, params: Params, *, required: bool = True) -> str | None:
    raw = params.get("symbol")
    if not raw:
        if required:
            raise _mandatory("symbol")
        return None
    try:
        return venue.exchange.symbol_for(raw.upper())
    except VenueError:
        raise BinanceError(-1121, "Invalid symbol.") from None


def _symbols(venue: SandboxVenue, params: Params) -> list[str]:
    """`symbol=BTCUSDT`, `symbols=["BTCUSDT","ETHUSDT"]`, or every listed pair."""
    one = _symbol(venue, params, required=False)
    if one is not None:
        return [one]
    raw = params.get("symbols")
    if not raw:
        return sorted(venue.exchange.instruments())
    try:
        ids = json.loads(raw)
    except ValueError:
        raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.") from None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.")
    return [_symbol(venue, {"symbol": i}) or "" for i in ids]


def _inst(venue: SandboxVenue, symbol: str) -> Instrument:
    return venue.exchange.instrument(symbol)


# -------------------------------------------------------------------------------------- renderings
_STATUS = {
    "New": "NEW",
    "Untriggered": "NEW",
    "PartiallyFilled": "PARTIALLY_FILLED",
    "Filled": "FILLED",
    "Cancelled": "CANCELED",
    "Deactivated": "CANCELED",
    "Rejected": "REJECTED",
}


def order_status(order: Order) -> str:
    if order.status == "PartiallyFilledCanceled":
        # a market or IOC/FOK order that ran out of book expired; a resting one was cancelled
        return (
            "EXPIRED" if order.order_type == "Market" or order.time_in_force in ("IOC", "FOK") else "CANCELED"
        )
    if order.status == "Cancelled" and order.reject_reason != "EC_NoError":
        return "EXPIRED"
    return _STATUS.get(order.status, "NEW")


def order_type(order: Order) -> str:
    if order.trigger_price is not None:
        falls = order.trigger_direction == 2
        kind = "STOP_LOSS" if falls != order.is_buy else "TAKE_PROFIT"
        return kind + ("_LIMIT" if order.order_type == "Limit" else "")
    if order.order_type == "Limit":
        return "LIMIT_MAKER" if order.time_in_force == "PostOnly" else "LIMIT"
    return "MARKET"


def _time_in_force(order: Order) -> str:
    return order.time_in_force if order.order_type == "Limit" and order.time_in_force != "PostOnly" else "GTC"


def render_order(venue: SandboxVenue, order: Order) -> dict[str, object]:
    """`GET /api/v3/order`'s shape (field order and types as Binance's documentation shows them)."""
    working = order.status != "Untriggered"
    return {
        "symbol": _inst(venue, order.symbol).venue_id,
        "orderId": int(order.order_id),
        "orderListId": -1,
        "clientOrderId": order.order_link_id,
        "price": fixed8(order.price or Decimal(0)),
        "origQty": fixed8(order.cum_exec_qty if order.qty_in_quote else order.qty),
        "executedQty": fixed8(order.cum_exec_qty),
        "cummulativeQuoteQty": fixed8(order.cum_exec_value),
        "status": order_status(order),
        "timeInForce": _time_in_force(order),
        "type": order_type(order),
        "side": order.side.upper(),
        "stopPrice": fixed8(order.trigger_price or Decimal(0)),
        "icebergQty": fixed8(Decimal(0)),
        "time": order.created_ms,
        "updateTime": order.updated_ms,
        "isWorking": working,
        "workingTime": order.updated_ms if working else -1,
        "origQuoteOrderQty": fixed8(order.qty if order.qty_in_quote else Decimal(0)),
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def render_trade(venue: SandboxVenue, e: Execution) -> dict[str, object]:
    """`GET /api/v3/myTrades`' shape."""
    return {
        "symbol": _inst(venue, e.symbol).venue_id,
        "id": int(e.exec_id),
        "orderId": int(e.order_id),
        "orderListId": -1,
        "price": fixed8(e.price),
        "qty": fixed8(e.qty),
        "quoteQty": fixed8(e.value),
        "commission": fixed8(e.fee),
        "commissionAsset": e.fee_currency,
        "time": e.ts_ms,
        "isBuyer": e.side == "Buy",
        "isMaker": e.is_maker,
        "isBestMatch": True,
    }


# ------------------------------------------------------------------------------------------ market
def ping(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    return {}


def server_time(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    return {"serverTime": venue.auth_now_ms()}


def _filters(inst: Instrument) -> list[dict[str, object]]:
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": fixed8(inst.tick_size),
            "maxPrice": fixed8(inst.tick_size * 100_000_000),
            "tickSize": fixed8(inst.tick_size),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": fixed8(inst.min_order_qty),
            "maxQty": fixed8(inst.max_order_qty),
            "stepSize": fixed8(inst.base_precision),
        },
        {
            "filterType": "MARKET_LOT_SIZE",
            "minQty": fixed8(Decimal(0)),
            "maxQty": fixed8(inst.max_order_qty),
            "stepSize": fixed8(Decimal(0)),
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": fixed8(inst.min_order_amt),
            "applyMinToMarket": True,
            "maxNotional": fixed8(inst.max_order_amt),
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
    ]


def exchange_info(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    rows = []
    for symbol in _symbols(venue, params):
        inst = _inst(venue, symbol)
        rows.append(
            {
                "symbol": inst.venue_id,
                "status": "TRADING",
                "baseAsset": inst.base,
                "baseAssetPrecision": 8,
                "quoteAsset": inst.quote,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "baseCommissionPrecision": 8,
                "quoteCommissionPrecision": 8,
                "orderTypes": list(ORDER_TYPES),
                "icebergAllowed": False,
                "ocoAllowed": False,
                "otoAllowed": False,
                "quoteOrderQtyMarketAllowed": True,
                "allowTrailingStop": False,
                "cancelReplaceAllowed": False,
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "filters": _filters(inst),
                "permissions": [],
                "permissionSets": [["SPOT"]],
                "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                "allowedSelfTradePreventionModes": STP_MODES,
            }
        )
    return {
        "timezone": "UTC",
        "serverTime": venue.auth_now_ms(),
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
        ],
        "exchangeFilters": [],
        "symbols": rows,
    }


def _many(params: Params, rows: list[dict[str, object]]) -> object:
    return rows[0] if params.get("symbol") else rows


def ticker_price(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    rows: list[dict[str, object]] = []
    for symbol in _symbols(venue, params):
        inst = _inst(venue, symbol)
        rows.append(
            {"symbol": inst.venue_id, "price": fixed8(on_tick(venue.exchange.price(symbol), inst.tick_size))}
        )
    return _many(params, rows)


def book_ticker(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    rows: list[dict[str, object]] = []
    for symbol in _symbols(venue, params):
        t = venue.exchange.ticker(symbol)
        rows.append(
            {
                "symbol": _inst(venue, symbol).venue_id,
                "bidPrice": fixed8(t.bid),
                "bidQty": fixed8(t.bid_size),
                "askPrice": fixed8(t.ask),
                "askQty": fixed8(t.ask_size),
            }
        )
    return _many(params, rows)


def ticker_24hr(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    now = venue.exchange.now_ms
    rows: list[dict[str, object]] = []
    for symbol in _symbols(venue, params):
        inst = _inst(venue, symbol)
        t = venue.exchange.ticker(symbol)
        last, prev = on_tick(t.last, inst.tick_size), on_tick(t.prev_24h, inst.tick_size)
        change = last - prev
        pct = (change / prev * 100).quantize(Decimal("0.001")) if prev else Decimal(0)
        avg = on_tick(t.turnover_24h / t.volume_24h, inst.tick_size) if t.volume_24h else last
        rows.append(
            {
                "symbol": inst.venue_id,
                "priceChange": fixed8(change),
                "priceChangePercent": format(pct, "f"),
                "weightedAvgPrice": fixed8(avg),
                "prevClosePrice": fixed8(prev),
                "lastPrice": fixed8(last),
                "lastQty": fixed8(inst.base_precision),
                "bidPrice": fixed8(t.bid),
                "bidQty": fixed8(t.bid_size),
                "askPrice": fixed8(t.ask),
                "askQty": fixed8(t.ask_size),
                "openPrice": fixed8(prev),
                "highPrice": fixed8(on_tick(t.high_24h, inst.tick_size)),
                "lowPrice": fixed8(on_tick(t.low_24h, inst.tick_size)),
                "volume": fixed8(t.volume_24h),
                "quoteVolume": fixed8(t.turnover_24h),
                "openTime": now - DAY_MS,
                "closeTime": now,
                "firstId": -1,
                "lastId": -1,
                "count": 0,
            }
        )
    return _many(params, rows)


def depth(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    symbol = _symbol(venue, params)
    assert symbol is not None
    bids, asks = venue.exchange.order_book(symbol, _limit(params, 100, 5000))
    return {
        "lastUpdateId": venue.exchange.now_ms,
        "bids": [[fixed8(p), fixed8(q)] for p, q in bids],
        "asks": [[fixed8(p), fixed8(q)] for p, q in asks],
    }


def klines(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    symbol = _symbol(venue, params)
    assert symbol is not None
    interval = params.get("interval", "")
    if not interval:
        raise _mandatory("interval")
    if interval not in INTERVALS:
        raise BinanceError(-1120, "Invalid interval.")
    tick = _inst(venue, symbol).tick_size
    rows = venue.exchange.klines(
        symbol, interval, _int(params, "startTime"), _int(params, "endTime"), _limit(params, 500, 1000)
    )
    step = timeframe_ms_or_month(interval)
    return [
        [
            t,
            fixed8(on_tick(o, tick)),
            fixed8(on_tick(h, tick)),
            fixed8(on_tick(lo, tick)),
            fixed8(on_tick(c, tick)),
            fixed8(v),
            t + step - 1,
            fixed8(q),
            0,
            "0.00000000",
            "0.00000000",
            "0",
        ]
        for t, o, h, lo, c, v, q in rows
    ]


def _prints(venue: SandboxVenue, params: Params) -> tuple[str, list[tuple[int, Decimal, Decimal, str]]]:
    symbol = _symbol(venue, params)
    assert symbol is not None
    prints = venue.exchange.recent_trades(symbol, 1000)[::-1]  # oldest first, as Binance lists them
    start, end = _int(params, "startTime"), _int(params, "endTime")
    prints = [p for p in prints if (start is None or p[0] >= start) and (end is None or p[0] <= end)]
    return symbol, prints[-_limit(params, 500, 1000) :]


def trades(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    _, prints = _prints(venue, params)
    return [
        {
            "id": t,
            "price": fixed8(p),
            "qty": fixed8(q),
            "quoteQty": fixed8(p * q),
            "time": t,
            "isBuyerMaker": side == "Sell",
            "isBestMatch": True,
        }
        for t, p, q, side in prints
    ]


def agg_trades(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    _, prints = _prints(venue, params)
    return [
        {"a": t, "p": fixed8(p), "q": fixed8(q), "f": t, "l": t, "T": t, "m": side == "Sell", "M": True}
        for t, p, q, side in prints
    ]


def margin_pairs(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    """The sandbox trades spot only: no cross or isolated margin pairs (ccxt asks while loading markets)."""
    return []


# ----------------------------------------------------------------------------------------- account
def account(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    fees = venue.exchange.fees
    omit_zero = params.get("omitZeroBalances") == "true"
    balances = [
        {"asset": coin, "free": fixed8(free), "locked": fixed8(locked)}
        for coin, (free, locked) in venue.exchange.balances(key.account_id).items()
        if not (omit_zero and free == locked == 0)
    ]
    bps = int(fees.taker * 10_000)
    return {
        "makerCommission": int(fees.maker * 10_000),
        "takerCommission": bps,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": fixed8(fees.maker),
            "taker": fixed8(fees.taker),
            "buyer": fixed8(Decimal(0)),
            "seller": fixed8(Decimal(0)),
        },
        "canTrade": key.can_trade_spot(),
        "canWithdraw": "Withdraw" in key.permissions.get("Wallet", []),
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": venue.exchange.now_ms,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": key.user_id,
    }


def api_restrictions(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    """`GET /sapi/v1/account/apiRestrictions`: what QARI's key check reads for Binance."""
    assert key is not None
    wallet = key.permissions.get("Wallet", [])
    return {
        "ipRestrict": "*" not in key.ips,
        "createTime": key.created_ms,
        "enableReading": True,
        "enableSpotAndMarginTrading": key.can_trade_spot(),
        "enableWithdrawals": "Withdraw" in wallet,
        "enableInternalTransfer": "AccountTransfer" in wallet,
        "permitsUniversalTransfer": "AccountTransfer" in wallet,
        "enableMargin": False,
        "enableFutures": bool(key.permissions.get("ContractTrade") or key.permissions.get("Derivatives")),
        "enableVanillaOptions": bool(key.permissions.get("Options")),
        "enablePortfolioMarginTrading": False,
        "enableFixApiTrade": False,
        "enableFixReadOnly": False,
    }


# ------------------------------------------------------------------------------------------ orders
def _client_id(params: Params, name: str) -> str | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not CLIENT_ID.match(raw):
        raise BinanceError(
            -1100, f"Illegal characters found in parameter '{name}'; legal range is '{CLIENT_ID.pattern}'."
        )
    return raw


def _new_client_id() -> str:
    return secrets.token_urlsafe(16)[:22]


def _kind(params: Params) -> tuple[str, str, bool, bool, str]:
    """(side, type, limit priced, conditional, the core's time in force) of a new order."""
    side = params.get("side", "")
    if not side:
        raise _mandatory("side")
    if side not in ("BUY", "SELL"):
        raise BinanceError(-1117, "Invalid side.")
    kind = params.get("type", "")
    if not kind:
        raise _mandatory("type")
    if kind not in ORDER_TYPES:
        raise BinanceError(-1116, "Invalid orderType.")
    for unsupported in ("icebergQty", "trailingDelta", "strategyId", "strategyType"):
        if params.get(unsupported):
            raise BinanceError(-1106, f"Parameter '{unsupported}' sent when not required.")
    limit = kind in ("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
    conditional = kind.startswith(("STOP_LOSS", "TAKE_PROFIT"))
    tif = params.get("timeInForce")
    if kind == "LIMIT_MAKER" or not limit:
        if tif:
            raise BinanceError(-1106, "Parameter 'timeInForce' sent when not required.")
        tif = "PostOnly" if kind == "LIMIT_MAKER" else "GTC"
    elif not tif:
        raise _mandatory("timeInForce")
    elif tif not in ("GTC", "IOC", "FOK"):
        raise BinanceError(-1115, "Invalid timeInForce.")
    return side, kind, limit, conditional, tif


def _not_required(name: str) -> BinanceError:
    return BinanceError(-1106, f"Parameter '{name}' sent when not required.")


def _amounts(
    params: Params, kind: str, limit: bool, conditional: bool
) -> tuple[Decimal, bool, Decimal | None, Decimal | None]:
    """(size, whether it is in quote coin, limit price, stop price) of a new order."""
    price = _dec(params, "price", required=limit)
    if not limit and price is not None:
        raise _not_required("price")
    stop = _dec(params, "stopPrice", required=conditional)
    if not conditional and stop is not None:
        raise _not_required("stopPrice")
    qty, quote_qty = _dec(params, "quantity"), _dec(params, "quoteOrderQty")
    if kind == "MARKET":
        if qty is None and quote_qty is None:
            raise BinanceError(
                -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
            )
        if qty is not None and quote_qty is not None:
            raise BinanceError(-1128, "Combination of optional parameters invalid.")
    elif quote_qty is not None:
        raise _not_required("quoteOrderQty")
    elif qty is None:
        raise _mandatory("quantity")
    size = qty if qty is not None else quote_qty
    assert size is not None
    if size <= 0:
        raise BinanceError(-1013, "Invalid quantity.")
    if (price is not None and price <= 0) or (stop is not None and stop <= 0):
        raise BinanceError(-1013, "Invalid price.")
    return size, qty is None, price, stop


def create_order(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    _all_read(params, _ORDER_PARAMS)
    symbol = _symbol(venue, params)
    assert symbol is not None
    side, kind, limit, conditional, tif = _kind(params)
    link_id = _client_id(params, "newClientOrderId") or _new_client_id()
    size, in_quote, price, stop = _amounts(params, kind, limit, conditional)
    direction = 0
    if stop is not None:
        last = venue.exchange.price(symbol)
        stop_loss = kind.startswith("STOP_LOSS")
        direction = 2 if stop_loss != (side == "BUY") else 1  # 2: fires when the price falls to it
        if (direction == 2 and last <= stop) or (direction == 1 and last >= stop):
            raise BinanceError(-2010, "Stop price would trigger immediately.")
    account_orders = venue.exchange.orders(key.account_id, active=True)
    if any(o.order_link_id == link_id for o in account_orders):
        raise BinanceError(-2010, "Duplicate order sent.")
    if kind == "LIMIT_MAKER" and price is not None:  # refused outright, no order is created (Binance)
        bids, asks = venue.exchange.order_book(symbol, 1)
        best = asks if side == "BUY" else bids
        if best and (best[0][0] <= price if side == "BUY" else best[0][0] >= price):
            raise BinanceError(-2010, "Order would immediately match and take.")
    order = venue.exchange.place_order(
        key.account_id,
        symbol,
        "Buy" if side == "BUY" else "Sell",
        "Limit" if limit else "Market",
        size,
        price,
        time_in_force=tif,
        order_link_id=link_id,
        market_unit=None if limit else ("quoteCoin" if in_quote else "baseCoin"),
        order_filter="tpslOrder" if conditional else "Order",
        trigger_price=stop,
        trigger_direction=direction,
        reuse_closed_link_ids=True,
    )
    return _ack(
        venue, order, params.get("newOrderRespType") or ("FULL" if kind in ("LIMIT", "MARKET") else "ACK")
    )


def _ack(venue: SandboxVenue, order: Order, resp_type: str) -> dict[str, object]:
    if resp_type not in ("ACK", "RESULT", "FULL"):
        raise BinanceError(-1100, "Illegal characters found in parameter 'newOrderRespType'.")
    ack: dict[str, object] = {
        "symbol": _inst(venue, order.symbol).venue_id,
        "orderId": int(order.order_id),
        "orderListId": -1,
        "clientOrderId": order.order_link_id,
        "transactTime": order.created_ms,
    }
    if resp_type == "ACK":
        return ack
    full = render_order(venue, order)
    for name in ("symbol", "orderId", "orderListId", "clientOrderId", "stopPrice", "icebergQty", "time",
                 "updateTime", "isWorking"):  # fmt: skip
        full.pop(name, None)
    ack.update(full)
    if resp_type == "FULL":
        fills = venue.exchange.executions(order.account_id, order.symbol, order_id=order.order_id)[::-1]
        ack["fills"] = [
            {
                "price": fixed8(e.price),
                "qty": fixed8(e.qty),
                "commission": fixed8(e.fee),
                "commissionAsset": e.fee_currency,
                "tradeId": int(e.exec_id),
            }
            for e in fills
        ]
    return ack


def _find(venue: SandboxVenue, params: Params, key: ApiKey, symbol: str) -> Order | None:
    order_id = _int(params, "orderId")
    link_id = params.get("origClientOrderId") or None
    if order_id is None and link_id is None:
        raise BinanceError(
            -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        )
    found = venue.exchange.get_order(
        key.account_id, order_id=str(order_id) if order_id is not None else None, order_link_id=link_id
    )
    if found is None or found.symbol != symbol or (link_id is not None and found.order_link_id != link_id):
        return None
    return found


def query_order(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    symbol = _symbol(venue, params)
    assert symbol is not None
    order = _find(venue, params, key, symbol)
    if order is None:
        raise BinanceError(-2013, "Order does not exist.")
    return render_order(venue, order)


def _cancelled(venue: SandboxVenue, order: Order, cancel_id: str) -> dict[str, object]:
    shown = render_order(venue, order)
    out: dict[str, object] = {
        "symbol": shown["symbol"],
        "origClientOrderId": order.order_link_id,
        "orderId": shown["orderId"],
        "orderListId": -1,
        "clientOrderId": cancel_id,
        "transactTime": order.updated_ms,
    }
    for name in ("price", "origQty", "executedQty", "cummulativeQuoteQty", "status", "timeInForce", "type",
                 "side", "stopPrice", "selfTradePreventionMode"):  # fmt: skip
        out[name] = shown[name]
    return out


def cancel_order(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    _all_read(params, _CANCEL_PARAMS)
    symbol = _symbol(venue, params)
    assert symbol is not None
    cancel_id = _client_id(params, "newClientOrderId") or _new_client_id()
    order = _find(venue, params, key, symbol)
    if order is None or not order.active:
        raise BinanceError(-2011, "Unknown order sent.")
    venue.exchange.cancel_order(key.account_id, order_id=order.order_id)
    return _cancelled(venue, order, cancel_id)


def cancel_open_orders(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    symbol = _symbol(venue, params)
    cancelled = venue.exchange.cancel_all(key.account_id, symbol)
    if not cancelled:
        raise BinanceError(-2011, "Unknown order sent.")
    return [_cancelled(venue, o, _new_client_id()) for o in reversed(cancelled)]


def open_orders(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    symbol = _symbol(venue, params, required=False)
    return [
        render_order(venue, o) for o in reversed(venue.exchange.orders(key.account_id, symbol, active=True))
    ]


def all_orders(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    symbol = _symbol(venue, params)
    from_id, start, end = _int(params, "orderId"), _int(params, "startTime"), _int(params, "endTime")
    if start is not None and end is not None and end - start > DAY_MS:
        raise BinanceError(-1127, "More than 24 hours between startTime and endTime.")
    rows = [
        o
        for o in reversed(venue.exchange.orders(key.account_id, symbol))
        if (from_id is None or int(o.order_id) >= from_id)
        and (start is None or o.created_ms >= start)
        and (end is None or o.created_ms <= end)
    ]
    limit = _limit(params, 500, 1000)
    rows = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
    return [render_order(venue, o) for o in rows]


def my_trades(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    """Binance's windows: at most 24 hours between startTime and endTime; one alone opens a 24 h window."""
    assert key is not None
    symbol = _symbol(venue, params)
    order_id, from_id = _int(params, "orderId"), _int(params, "fromId")
    start, end = _int(params, "startTime"), _int(params, "endTime")
    if start is not None and end is not None and end - start > DAY_MS:
        raise BinanceError(-1127, "More than 24 hours between startTime and endTime.")
    if start is not None and end is None:
        end = start + DAY_MS
    elif end is not None and start is None:
        start = end - DAY_MS
    execs = venue.exchange.executions(
        key.account_id,
        symbol,
        start_ms=start,
        end_ms=end,
        order_id=str(order_id) if order_id is not None else None,
    )[::-1]
    if from_id is not None:
        execs = [e for e in execs if int(e.exec_id) >= from_id]
    limit = _limit(params, 500, 1000)
    execs = execs[:limit] if from_id is not None or start is not None else execs[-limit:]
    return [render_trade(venue, e) for e in execs]


# (method, path) -> (handler, signed, needs spot-trading permission)
ROUTES: dict[tuple[str, str], tuple[Handler, bool, bool]] = {
    ("GET", "/api/v3/ping"): (ping, False, False),
    ("GET", "/api/v3/time"): (server_time, False, False),
    ("GET", "/api/v3/exchangeInfo"): (exchange_info, False, False),
    ("GET", "/api/v3/ticker/price"): (ticker_price, False, False),
    ("GET", "/api/v3/ticker/24hr"): (ticker_24hr, False, False),
    ("GET", "/api/v3/ticker/bookTicker"): (book_ticker, False, False),
    ("GET", "/api/v3/depth"): (depth, False, False),
    ("GET", "/api/v3/klines"): (klines, False, False),
    ("GET", "/api/v3/uiKlines"): (klines, False, False),
    ("GET", "/api/v3/trades"): (trades, False, False),
    ("GET", "/api/v3/aggTrades"): (agg_trades, False, False),
    ("GET", "/api/v3/account"): (account, True, False),
    ("POST", "/api/v3/order"): (create_order, True, True),
    ("GET", "/api/v3/order"): (query_order, True, False),
    ("DELETE", "/api/v3/order"): (cancel_order, True, True),
    ("GET", "/api/v3/openOrders"): (open_orders, True, False),
    ("DELETE", "/api/v3/openOrders"): (cancel_open_orders, True, True),
    ("GET", "/api/v3/allOrders"): (all_orders, True, False),
    ("GET", "/api/v3/myTrades"): (my_trades, True, False),
    ("GET", "/sapi/v1/account/apiRestrictions"): (api_restrictions, True, False),
    ("GET", "/sapi/v1/margin/allPairs"): (margin_pairs, False, False),
    ("GET", "/sapi/v1/margin/isolated/allPairs"): (margin_pairs, True, False),
}


# -------------------------------------------------------------------------------------------- auth
def _without_signature(raw: str) -> tuple[str, str | None]:
    """(`raw` without its `signature=` parameter, the signature), keeping every other byte as sent."""
    kept, signature = [], None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), signature


def authenticate(
    venue: SandboxVenue, request: Request, params: Params, query: str, body: str, needs_trade: bool
) -> ApiKey:
    api_key = request.headers.get("x-mbx-apikey", "")
    if not api_key:
        raise BinanceError(-2014, "API-key format invalid.", 401)
    key = venue.keys.get(api_key)
    if key is None:
        raise BinanceError(-2015, BAD_KEY, 401)
    timestamp = _int(params, "timestamp")
    if timestamp is None:
        raise _mandatory("timestamp")
    signed_query, sig_q = _without_signature(query)
    signed_body, sig_b = _without_signature(body)
    signature = sig_q or sig_b
    if not signature:
        raise _mandatory("signature")
    recv = _int(params, "recvWindow", 5000)
    assert recv is not None
    if recv > MAX_RECV_WINDOW or recv <= 0:
        raise BinanceError(-1131, "recvWindow must be less than 60000")
    now = venue.auth_now_ms()
    if timestamp >= now + 1000:
        raise BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if now - timestamp > recv:
        raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")
    expected = key.sign(signed_query + signed_body)
    if not hmac.compare_digest(expected, signature.lower()):
        raise BinanceError(-1022, "Signature for this request is not valid.")
    client_ip = request.client.host if request.client else ""
    if not key.ip_allowed(client_ip):
        raise BinanceError(-2015, BAD_KEY, 401)
    if needs_trade and not key.can_trade_spot():
        raise BinanceError(-2015, BAD_KEY, 401)
    return key


def parse_params(query: str, body: str) -> Params:
    """Query string and form body together; a name in both takes the query string's value (Binance)."""
    params = dict(parse_qsl(body, keep_blank_values=True))
    params.update(parse_qsl(query, keep_blank_values=True))
    return params


# ---------------------------------------------------------------------------------------- dispatch
def _error(e: BinanceError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": e.code, "msg": e.msg}, status_code=e.status, headers=headers)


def _fault_response(kind: str, status: int) -> Response | None:
    if kind == "rate_limit":
        return _error(
            BinanceError(
                -1003,
                "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
                "Please use WebSocket Streams for live updates to avoid polling the API.",
                429,
            ),
            {"Retry-After": "1"},
        )
    if kind == "reject_order":
        return _error(BinanceError(-2010, "New order rejected."))
    return transport_fault(kind, status)


async def dispatch(venue: SandboxVenue, request: Request, path: str) -> Response:
    route = ROUTES.get((request.method, path))
    if route is None:
        return _error(BinanceError(-1020, f"The sandbox does not serve {request.method} {path}.", 404))
    handler, signed, needs_trade = route
    return await with_faults(
        venue,
        path,
        is_order_create=(request.method, path) == ("POST", "/api/v3/order"),
        fault_response=_fault_response,
        answer=lambda: _answer(venue, request, path, handler, signed, needs_trade),
    )


async def _answer(
    venue: SandboxVenue, request: Request, path: str, handler: Handler, signed: bool, needs_trade: bool
) -> Response:
    query = request.scope.get("query_string", b"").decode("latin-1")
    body = (
        (await request.body()).decode("utf-8", "replace")
        if request.method in ("POST", "PUT", "DELETE")
        else ""
    )
    headers: dict[str, str] = {}
    try:
        venue.sync()
        params = parse_params(query, body)
        key = authenticate(venue, request, params, query, body, needs_trade) if signed else None
        if key is not None and venue.rate_limits is not None:
            group = "trade" if needs_trade else "read"
            allowed, limit, left, _ = venue.rate_limits.take(key.api_key, group, venue.auth_now_ms())
            headers = {"X-MBX-USED-WEIGHT-1S": str(limit - left)}
            if not allowed:
                raise BinanceError(-1003, "Too many requests; current limit of IP is exceeded.", 429)
        try:
            result = handler(venue, params, key)
        except VenueError as e:
            raise from_core(e) from None
        return JSONResponse(result, headers=headers)
    except BinanceError as e:
        return _error(e, headers)
    except Exception:  # the venue must answer like Binance, never with a traceback
        log.exception("sandbox (binance): %s %s failed", request.method, path)
        return _error(BinanceError(-1000, "An unknown error occurred while processing the request.", 500))
