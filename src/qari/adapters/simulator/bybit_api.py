"""Bybit v5 (spot) over HTTP: the routes, auth and envelopes ccxt and pybit expect.

Every answer is `{"retCode", "retMsg", "result", "retExtInfo", "time"}` with numbers as strings, HTTP 200
even for errors (Bybit's way; ccxt and pybit read `retCode`). Private calls are checked in Bybit's
order of concerns: headers present (10001), key known (10003), timestamp inside the recv window
against the real time (10002: `now - recvWindow <= ts < now + 1000`), HMAC-SHA256 over
`ts + key + recvWindow + raw query or raw body` exactly as received (10004), the key's IP list (10010),
and for trading calls the key's write permission (10005).

Why one file of ~700 lines: it is the whole of one venue's wire protocol (parameter rules, renderings,
market, account and order routes, auth, envelopes and error codes), in sections that read against
that venue's API documentation; split by section, one venue's rules would be spread over several
files. The market and the accounts are the venue core's (`exchange.py`), the helpers every protocol
shares are `wire.py`'s.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qari.adapters.simulator.exchange import Execution, Order
from qari.adapters.simulator.matching import PARAMS, VenueError
from qari.adapters.simulator.venue import ApiKey, SandboxVenue
from qari.adapters.simulator.wire import (
    fmt,
    json_request_params,
    on_tick,
    parse_decimal,
    parse_int,
    transport_fault,
    usd_price,
    with_faults,
)

log = logging.getLogger(__name__)

INTERVALS = {
    "1": "1m",
    "3": "3m",
    "5": "5m",
    "15": "15m",
    "30": "30m",
    "60": "1h",
    "120": "2h",
    "240": "4h",
    "360": "6h",
    "720": "12h",
    "D": "1d",
    "W": "1w",
    "M": "1M",
}

Params = dict[str, Any]
Handler = Callable[[SandboxVenue, Params, ApiKey | None], Any]


def envelope(result: object, now_ms: int, code: int = 0, msg: str = "OK") -> dict[str, object]:
    return {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now_ms}


def _dec(params: Params, name: str, *, required: bool = False) -> Decimal | None:
    try:
        value = parse_decimal(params.get(name))
    except ValueError:
        raise VenueError(PARAMS, f"params error: {name} is not a number") from None
    if value is None and required:
        raise VenueError(PARAMS, f"params error: {name} is required")
    return value


def _int(params: Params, name: str, default: int | None = None) -> int | None:
    try:
        value = parse_int(params.get(name))
    except ValueError:
        raise VenueError(PARAMS, f"params error: {name} must be an integer") from None
    return default if value is None else value


def _category(params: Params) -> None:
    category = params.get("category")
    if not category:
        raise VenueError(PARAMS, "params error: category is required")
    if category != "spot":
        raise VenueError(PARAMS, f"params error: the sandbox trades category spot only, not {category}")


def _symbol(venue: SandboxVenue, params: Params, *, required: bool = True) -> str | None:
    raw = params.get("symbol")
    if not raw:
        if required:
            raise VenueError(PARAMS, "params error: symbol is required")
        return None
    return venue.exchange.symbol_for(str(raw).upper())


def _page(items: list[Any], params: Params, default: int, maximum: int) -> tuple[list[Any], str]:
    limit = max(1, min(_int(params, "limit", default) or default, maximum))
    start = _int(params, "cursor", 0) or 0
    chunk = items[start : start + limit]
    return chunk, str(start + limit) if start + limit < len(items) else ""


# --------------------------------------------------------------------------------------- renderings
def render_order(venue: SandboxVenue, order: Order) -> dict[str, object]:
    inst = venue.exchange.instrument(order.symbol)
    leaves = order.leaves_qty
    leaves_value = order.price * leaves if order.price is not None else 0
    return {
        "orderId": order.order_id,
        "orderLinkId": order.order_link_id,
        "blockTradeId": "",
        "symbol": inst.venue_id,
        "price": fmt(order.price) if order.price is not None else "0",
        "qty": fmt(order.qty),
        "side": order.side,
        "isLeverage": "0",
        "positionIdx": 0,
        "orderStatus": order.status,
        "createType": "CreateByUser",
        "cancelType": "UNKNOWN" if order.status != "Cancelled" else "CancelByUser",
        "rejectReason": order.reject_reason,
        "avgPrice": fmt(order.avg_price) if order.cum_exec_qty else "",
        "leavesQty": fmt(leaves),
        "leavesValue": fmt(Decimal(leaves_value)),
        "cumExecQty": fmt(order.cum_exec_qty),
        "cumExecValue": fmt(order.cum_exec_value),
        "cumExecFee": fmt(order.cum_exec_fee),
        "cumFeeDetail": {order.fee_currency: fmt(order.cum_exec_fee)} if order.cum_exec_fee else {},
        "timeInForce": order.time_in_force,
        "orderType": order.order_type,
        "stopOrderType": order.stop_order_type,
        "orderIv": "",
        "marketUnit": order.market_unit if order.order_type == "Market" else "",
        "triggerPrice": fmt(order.trigger_price) if order.trigger_price is not None else "0",
        "takeProfit": "0",
        "stopLoss": "0",
        "tpslMode": "",
        "ocoTriggerBy": "",
        "tpLimitPrice": "",
        "slLimitPrice": "",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": order.trigger_direction,
        "triggerBy": "LastPrice" if order.trigger_price is not None else "",
        "lastPriceOnCreated": "",
        "reduceOnly": False,
        "closeOnTrigger": False,
        "placeType": "",
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "createdTime": str(order.created_ms),
        "updatedTime": str(order.updated_ms),
    }


def render_execution(venue: SandboxVenue, e: Execution) -> dict[str, object]:
    inst = venue.exchange.instrument(e.symbol)
    return {
        "symbol": inst.venue_id,
        "orderId": e.order_id,
        "orderLinkId": e.order_link_id,
        "side": e.side,
        "orderPrice": fmt(e.order_price) if e.order_price is not None else "0",
        "orderQty": fmt(e.order_qty),
        "leavesQty": fmt(e.leaves_qty),
        "orderType": e.order_type,
        "stopOrderType": "",
        "execFee": fmt(e.fee),
        "feeCurrency": e.fee_currency,
        "execId": e.exec_id,
        "execPrice": fmt(e.price),
        "execQty": fmt(e.qty),
        "execType": "Trade",
        "execValue": fmt(e.value),
        "execTime": str(e.ts_ms),
        "isMaker": e.is_maker,
        "feeRate": fmt(e.fee_rate),
        "tradeIv": "",
        "markIv": "",
        "markPrice": "",
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "",
        "seq": int(e.exec_id) % 10_000_000_000,
    }


# ------------------------------------------------------------------------------------------- market
def server_time(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    now = venue.auth_now_ms()
    return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}


def instruments_info(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    category = params.get("category")
    if not category:
        raise VenueError(PARAMS, "params error: category is required")
    if category != "spot":
        return {"category": category, "list": [], "nextPageCursor": ""}
    wanted = _symbol(venue, params, required=False)
    rows = []
    for symbol, inst in sorted(venue.exchange.instruments().items()):
        if wanted is not None and symbol != wanted:
            continue
        rows.append(
            {
                "symbol": inst.venue_id,
                "baseCoin": inst.base,
                "quoteCoin": inst.quote,
                "innovation": "0",
                "status": "Trading",
                "marginTrading": "none",
                "stTag": "0",
                "lotSizeFilter": {
                    "basePrecision": fmt(inst.base_precision),
                    "quotePrecision": fmt(inst.quote_precision),
                    "minOrderQty": fmt(inst.min_order_qty),
                    "maxOrderQty": fmt(inst.max_order_qty),
                    "minOrderAmt": fmt(inst.min_order_amt),
                    "maxOrderAmt": fmt(inst.max_order_amt),
                },
                "priceFilter": {"tickSize": fmt(inst.tick_size)},
                "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
            }
        )
    return {"category": "spot", "list": rows, "nextPageCursor": ""}


def tickers(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    _category(params)
    wanted = _symbol(venue, params, required=False)
    symbols = [wanted] if wanted else sorted(venue.exchange.instruments())
    rows = []
    for symbol in symbols:
        inst = venue.exchange.instrument(symbol)
        t = venue.exchange.ticker(symbol)
        tick = inst.tick_size  # Bybit prints prices on the tick: never more decimals than it
        last, prev = on_tick(t.last, tick), on_tick(t.prev_24h, tick)
        change = (last / prev - 1) if prev else Decimal(0)
        rows.append(
            {
                "symbol": inst.venue_id,
                "bid1Price": fmt(on_tick(t.bid, tick)),
                "bid1Size": fmt(t.bid_size),
                "ask1Price": fmt(on_tick(t.ask, tick)),
                "ask1Size": fmt(t.ask_size),
                "lastPrice": fmt(last),
                "prevPrice24h": fmt(prev),
                "price24hPcnt": fmt(change.quantize(Decimal("0.0001"))),
                "highPrice24h": fmt(on_tick(t.high_24h, tick)),
                "lowPrice24h": fmt(on_tick(t.low_24h, tick)),
                "turnover24h": fmt(t.turnover_24h),
                "volume24h": fmt(t.volume_24h),
                "usdIndexPrice": fmt(last) if symbol.endswith("/USDT") else "",
            }
        )
    return {"category": "spot", "list": rows}


def orderbook(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    _category(params)
    symbol = _symbol(venue, params)
    assert symbol is not None
    depth = max(1, min(_int(params, "limit", 1) or 1, 200))
    bids, asks = venue.exchange.order_book(symbol, depth)
    now = venue.exchange.now_ms
    return {
        "s": venue.exchange.instrument(symbol).venue_id,
        "b": [[fmt(p), fmt(q)] for p, q in bids],
        "a": [[fmt(p), fmt(q)] for p, q in asks],
        "ts": now,
        "u": now // 1000,
        "seq": now // 1000,
        "cts": now,
    }


def recent_trades(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    _category(params)
    symbol = _symbol(venue, params)
    assert symbol is not None
    venue_id = venue.exchange.instrument(symbol).venue_id
    limit = max(1, min(_int(params, "limit", 60) or 60, 60))
    return {
        "category": "spot",
        "list": [
            {
                "execId": f"{venue_id}-{t}",
                "symbol": venue_id,
                "price": fmt(price),
                "size": fmt(size),
                "side": side,
                "time": str(t),
                "isBlockTrade": False,
                "isRPITrade": False,
            }
            for t, price, size, side in venue.exchange.recent_trades(symbol, limit)
        ],
    }


def kline(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    _category(params)
    symbol = _symbol(venue, params)
    assert symbol is not None
    interval = str(params.get("interval", ""))
    if interval not in INTERVALS:
        raise VenueError(PARAMS, f"params error: interval must be one of {', '.join(INTERVALS)}")
    limit = max(1, min(_int(params, "limit", 200) or 200, 1000))
    try:
        rows = venue.exchange.klines(
            symbol, INTERVALS[interval], _int(params, "start"), _int(params, "end"), limit
        )
    except ValueError as e:
        raise VenueError(PARAMS, f"params error: {e}") from None
    return {
        "category": "spot",
        "symbol": venue.exchange.instrument(symbol).venue_id,
        "list": [[str(r[0]), *(fmt(x) for x in r[1:])] for r in reversed(rows)],
    }


# ------------------------------------------------------------------------------------------ account
def wallet_balance(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    if params.get("accountType") != "UNIFIED":
        raise VenueError(PARAMS, "accountType only support UNIFIED.")
    wanted = {c.strip().upper() for c in str(params.get("coin") or "").split(",") if c.strip()}
    coins = []
    total_usd = Decimal(0)
    for coin, (free, locked) in venue.exchange.balances(key.account_id).items():
        if wanted and coin not in wanted:
            continue
        usd = usd_price(venue, coin)
        value = (free + locked) * usd if usd is not None else Decimal(0)
        total_usd += value
        coins.append(
            {
                "coin": coin,
                "equity": fmt(free + locked),
                "usdValue": fmt(value.quantize(Decimal("0.00000001"))),
                "walletBalance": fmt(free + locked),
                "free": fmt(free),
                "locked": fmt(locked),
                "spotHedgingQty": "0",
                "borrowAmount": "0",
                "availableToWithdraw": fmt(free),
                "availableToBorrow": "",
                "accruedInterest": "0",
                "totalOrderIM": "0",
                "totalPositionIM": "0",
                "totalPositionMM": "0",
                "unrealisedPnl": "0",
                "cumRealisedPnl": "0",
                "bonus": "0",
                "marginCollateral": True,
                "collateralSwitch": True,
            }
        )
    total = fmt(total_usd.quantize(Decimal("0.00000001")))
    return {
        "list": [
            {
                "accountType": "UNIFIED",
                "accountIMRate": "0",
                "accountMMRate": "0",
                "accountLTV": "0",
                "totalEquity": total,
                "totalWalletBalance": total,
                "totalMarginBalance": total,
                "totalAvailableBalance": total,
                "totalPerpUPL": "0",
                "totalInitialMargin": "0",
                "totalMaintenanceMargin": "0",
                "coin": coins,
            }
        ]
    }


def account_info(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    return {
        "unifiedMarginStatus": 5,
        "marginMode": "REGULAR_MARGIN",
        "isMasterTrader": False,
        "spotHedgingStatus": "OFF",
        "updatedTime": str(key.created_ms if key else 0),
        "dcpStatus": "OFF",
        "timeWindow": 10,
        "smpGroup": 0,
    }


def fee_rate(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    _category(params)
    wanted = _symbol(venue, params, required=False)
    fees = venue.exchange.fees
    return {
        "list": [
            {"symbol": inst.venue_id, "takerFeeRate": fmt(fees.taker), "makerFeeRate": fmt(fees.maker)}
            for symbol, inst in sorted(venue.exchange.instruments().items())
            if wanted is None or symbol == wanted
        ]
    }


def query_api(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    return venue.key_info(key)


def coin_info(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    coins = sorted({c for i in venue.exchange.instruments().values() for c in (i.base, i.quote)})
    wanted = params.get("coin")
    rows = [
        {
            "name": coin,
            "coin": coin,
            "remainAmount": "1000000",
            "chains": [
                {
                    "chainType": coin,
                    "confirmation": "1",
                    "withdrawFee": "0",
                    "depositMin": "0",
                    "withdrawMin": "0",
                    "chain": coin,
                    "chainDeposit": "1",
                    "chainWithdraw": "1",
                    "minAccuracy": "8",
                    "withdrawPercentageFee": "0",
                }
            ],
        }
        for coin in coins
        if not wanted or coin == wanted
    ]
    return {"rows": rows}


# ------------------------------------------------------------------------------------------- orders
def create_order(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    _category(params)
    symbol = _symbol(venue, params)
    assert symbol is not None
    if str(params.get("isLeverage", "0")) not in ("0", ""):
        raise VenueError(PARAMS, "params error: margin trading is not available on this venue (isLeverage=0)")
    if params.get("takeProfit") or params.get("stopLoss"):
        raise VenueError(
            PARAMS, "params error: attached takeProfit/stopLoss are not supported; place a tpslOrder"
        )
    qty = _dec(params, "qty", required=True)
    assert qty is not None
    trigger = _dec(params, "triggerPrice")
    order = venue.exchange.place_order(
        key.account_id,
        symbol,
        str(params.get("side", "")),
        str(params.get("orderType", "")),
        qty,
        _dec(params, "price"),
        time_in_force=str(params.get("timeInForce") or "GTC"),
        order_link_id=str(params.get("orderLinkId") or ""),
        market_unit=params.get("marketUnit") or None,
        order_filter=str(
            params.get("orderFilter") or ("StopOrder" if params.get("triggerPrice") else "Order")
        ),
        trigger_price=trigger,
        trigger_direction=_int(params, "triggerDirection", 0) or 0,
    )
    return {"orderId": order.order_id, "orderLinkId": order.order_link_id}


def cancel_order(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    _category(params)
    _symbol(venue, params)
    order = venue.exchange.cancel_order(
        key.account_id,
        order_id=str(params.get("orderId") or "") or None,
        order_link_id=str(params.get("orderLinkId") or "") or None,
    )
    return {"orderId": order.order_id, "orderLinkId": order.order_link_id}


def cancel_all(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    _category(params)
    symbol = _symbol(venue, params, required=False)
    order_filter = params.get("orderFilter") or None
    cancelled = venue.exchange.cancel_all(key.account_id, symbol, order_filter)
    return {
        "list": [{"orderId": o.order_id, "orderLinkId": o.order_link_id} for o in cancelled],
        "success": "1",
    }


def _order_filter_matches(order: Order, wanted: object) -> bool:
    return not wanted or order.order_filter == wanted


def realtime_orders(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    _category(params)
    symbol = _symbol(venue, params, required=False)
    order_id = params.get("orderId") or None
    link_id = params.get("orderLinkId") or None
    if order_id or link_id:
        found = venue.exchange.get_order(key.account_id, order_id=order_id, order_link_id=link_id)
        orders = [found] if found is not None and (symbol is None or found.symbol == symbol) else []
    else:
        orders = venue.exchange.orders(key.account_id, symbol, active=True)
    orders = [o for o in orders if _order_filter_matches(o, params.get("orderFilter"))]
    chunk, cursor = _page(orders, params, 20, 50)
    return {"category": "spot", "list": [render_order(venue, o) for o in chunk], "nextPageCursor": cursor}


def order_history(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    _category(params)
    symbol = _symbol(venue, params, required=False)
    order_id = params.get("orderId") or None
    link_id = params.get("orderLinkId") or None
    start, end = _int(params, "startTime"), _int(params, "endTime")
    status = params.get("orderStatus")
    orders = [
        o
        for o in venue.exchange.orders(key.account_id, symbol)
        if (order_id is None or o.order_id == order_id)
        and (link_id is None or o.order_link_id == link_id)
        and (status is None or o.status == status)
        and (start is None or o.created_ms >= start)
        and (end is None or o.created_ms <= end)
        and _order_filter_matches(o, params.get("orderFilter"))
    ]
    chunk, cursor = _page(orders, params, 20, 50)
    return {"category": "spot", "list": [render_order(venue, o) for o in chunk], "nextPageCursor": cursor}


def execution_list(venue: SandboxVenue, params: Params, key: ApiKey | None) -> object:
    assert key is not None
    _category(params)
    symbol = _symbol(venue, params, required=False)
    execs = venue.exchange.executions(
        key.account_id,
        symbol,
        start_ms=_int(params, "startTime"),
        end_ms=_int(params, "endTime"),
        order_id=params.get("orderId") or None,
    )
    link_id = params.get("orderLinkId")
    if link_id:
        execs = [e for e in execs if e.order_link_id == link_id]
    chunk, cursor = _page(execs, params, 50, 100)
    return {"category": "spot", "list": [render_execution(venue, e) for e in chunk], "nextPageCursor": cursor}


# (method, path) -> (handler, private, needs spot-trade permission)
ROUTES: dict[tuple[str, str], tuple[Handler, bool, bool]] = {
    ("GET", "/v5/market/time"): (server_time, False, False),
    ("GET", "/v5/market/instruments-info"): (instruments_info, False, False),
    ("GET", "/v5/market/tickers"): (tickers, False, False),
    ("GET", "/v5/market/orderbook"): (orderbook, False, False),
    ("GET", "/v5/market/kline"): (kline, False, False),
    ("GET", "/v5/market/recent-trade"): (recent_trades, False, False),
    ("GET", "/v5/account/wallet-balance"): (wallet_balance, True, False),
    ("GET", "/v5/account/info"): (account_info, True, False),
    ("GET", "/v5/account/fee-rate"): (fee_rate, True, False),
    ("GET", "/v5/user/query-api"): (query_api, True, False),
    ("GET", "/v5/asset/coin/query-info"): (coin_info, True, False),
    ("POST", "/v5/order/create"): (create_order, True, True),
    ("POST", "/v5/order/cancel"): (cancel_order, True, True),
    ("POST", "/v5/order/cancel-all"): (cancel_all, True, True),
    ("GET", "/v5/order/realtime"): (realtime_orders, True, False),
    ("GET", "/v5/order/history"): (order_history, True, False),
    ("GET", "/v5/execution/list"): (execution_list, True, False),
}


# --------------------------------------------------------------------------------------------- auth
def authenticate(venue: SandboxVenue, request: Request, payload: str, needs_trade: bool) -> ApiKey:
    headers = request.headers
    api_key = headers.get("x-bapi-api-key", "")
    timestamp = headers.get("x-bapi-timestamp", "")
    signature = headers.get("x-bapi-sign", "")
    if not (api_key and timestamp and signature):
        raise VenueError(
            PARAMS,
            f"empty value: apiTimestamp[{timestamp}] apiKey[{api_key}] apiSignature[{signature}]: "
            "openapi sign params error!",
        )
    key = venue.keys.get(api_key)
    if key is None:
        raise VenueError(10003, "API key is invalid.")
    recv_raw = headers.get("x-bapi-recv-window", "5000")
    try:
        ts, recv = int(timestamp), int(recv_raw)
    except ValueError:
        raise VenueError(
            10002, "invalid request, please check your server timestamp or recv_window param"
        ) from None
    now = venue.auth_now_ms()
    if not (now - recv <= ts < now + 1000):
        raise VenueError(
            10002,
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{ts}],server_timestamp[{now}],recv_window[{recv}]",
        )
    expected = key.sign(f"{timestamp}{api_key}{recv_raw}{payload}")
    if not hmac.compare_digest(expected, signature.lower()):
        raise VenueError(10004, "Error sign, please check your signature generation algorithm.")
    client_ip = request.client.host if request.client else ""
    if not key.ip_allowed(client_ip):
        raise VenueError(10010, "Unmatched IP, please check your API key's bound IP addresses.")
    if needs_trade and not key.can_trade_spot():
        raise VenueError(10005, "Permission denied, please check your API key permissions.")
    return key


def parse_params(method: str, query: str, body: bytes) -> Params:
    try:
        data = json_request_params(method, query, body)
    except ValueError:
        raise VenueError(PARAMS, "params error: the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise VenueError(PARAMS, "params error: the request body must be a JSON object")
    return data


# ---------------------------------------------------------------------------------------- dispatch
def _fault_response(venue: SandboxVenue, kind: str, status: int) -> Response | None:
    now = venue.auth_now_ms()
    if kind == "rate_limit":
        return JSONResponse(
            envelope({}, now, 10006, "Too many visits. Exceeded the API Rate Limit."),
            headers={
                "X-Bapi-Limit-Status": "0",
                "X-Bapi-Limit": "20",
                "X-Bapi-Limit-Reset-Timestamp": str(now + 200),
            },
        )
    if kind == "reject_order":
        return JSONResponse(envelope({}, now, 170210, "New order rejected."))
    return transport_fault(kind, status)


async def dispatch(venue: SandboxVenue, request: Request, path: str) -> Response:
    method = request.method
    route = ROUTES.get((method, path))
    if route is None:
        return JSONResponse(
            envelope({}, venue.auth_now_ms(), PARAMS, f"the sandbox does not serve {method} {path}"),
            status_code=404,
        )
    handler, private, needs_trade = route
    return await with_faults(
        venue,
        path,
        is_order_create=path == "/v5/order/create",
        fault_response=lambda kind, status: _fault_response(venue, kind, status),
        answer=lambda: _answer(venue, request, path, handler, private, needs_trade),
    )


async def _answer(
    venue: SandboxVenue, request: Request, path: str, handler: Handler, private: bool, needs_trade: bool
) -> Response:
    method = request.method
    query = request.scope.get("query_string", b"").decode("latin-1")
    body = await request.body() if method == "POST" else b""
    limit_headers: dict[str, str] = {}
    try:
        venue.sync()
        payload = query if method == "GET" else body.decode("utf-8", "replace")
        key = authenticate(venue, request, payload, needs_trade) if private else None
        if key is not None and venue.rate_limits is not None:
            group = "trade" if needs_trade else "read"
            allowed, limit, left, reset_ms = venue.rate_limits.take(key.api_key, group, venue.auth_now_ms())
            limit_headers = {
                "X-Bapi-Limit": str(limit),
                "X-Bapi-Limit-Status": str(left),
                "X-Bapi-Limit-Reset-Timestamp": str(reset_ms),
            }
            if not allowed:
                raise VenueError(10006, "Too many visits. Exceeded the API Rate Limit.")
        params = parse_params(method, query, body)
        result = handler(venue, params, key)
        response = envelope(result, venue.auth_now_ms())
    except VenueError as e:
        response = envelope({}, venue.auth_now_ms(), e.code, e.message)
    except Exception:  # the venue must answer like Bybit, never with a traceback
        log.exception("sandbox: %s %s failed", method, path)
        response = envelope({}, venue.auth_now_ms(), 10016, "System error. Please try again later.")
    return JSONResponse(response, headers=limit_headers)
