"""OKX v5 spot over HTTP (`/api/v5/...`), on the shared venue core: what ccxt's `okx` and OKX's SDK expect.

Every answer is `{"code": "0", "msg": "", "data": [...]}`; a refused order is `code "1"` with the
reason in `data[i].sCode`/`sMsg`, as OKX sends it. Private calls carry `OK-ACCESS-KEY`, `-SIGN`,
`-TIMESTAMP` (ISO 8601 with milliseconds) and `-PASSPHRASE`; they are checked in this order: headers
present (50103/50106/50107/50104), key known (50111), timestamp well formed (50112) and within 30
seconds of the real time (50102), passphrase (50105), the signature — base64 HMAC-SHA256 of
`timestamp + METHOD + path?query + body` exactly as received (50113) — the key's IP list (50110) and,
for trading, its `trade` permission (50120).

`clOrdId` and `algoClOrdId` are up to 32 letters and digits (51000 otherwise); an id still naming an open
order is refused (51016). Algo orders (`ordType` conditional / trigger) are the core's conditional orders;
when one triggers, OKX places a new order, so the triggered order shows under its own `ordId`
(`algoId + TRIGGERED_OFFSET`), linked both ways (`algoId` on the order, `ordId` on the algo record).

Why one file of ~1,150 lines: it is the whole of one venue's wire protocol (parameter rules, renderings,
market, account, order and algo-order routes, auth, envelopes and error codes), in sections that read against
that venue's API documentation; split by section, one venue's rules would be spread over several
files. The market and the accounts are the venue core's (`exchange.py`), the helpers every protocol
shares are `wire.py`'s.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

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
    VenueError,
)
from qari.adapters.simulator.venue import ApiKey, SandboxVenue
from qari.adapters.simulator.wire import (
    fmt,
    json_request_params,
    on_tick,
    parse_decimal,
    parse_int,
    transport_fault,
    with_faults,
)

log = logging.getLogger(__name__)

Params = dict[str, Any]
Handler = Callable[[SandboxVenue, Params, ApiKey | None], list[Any]]

PREFIXES = ("/api/v5/",)
CLIENT_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
TIMESTAMP_WINDOW_MS = 30_000
TRIGGERED_OFFSET = (
    5_000_000_000_000_000_000  # ordId of the order a triggered algo placed = algoId + this (< 2**63)
)
BARS = {
    "1m": "1m",
    "3m": "3m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1H": "1h",
    "2H": "2h",
    "4H": "4h",
    "6H": "6h",
    "12H": "12h",
    "1D": "1d",
    "1W": "1w",
    "1M": "1M",
    "6Hutc": "6h",
    "12Hutc": "12h",
    "1Dutc": "1d",
    "1Wutc": "1w",
    "1Mutc": "1M",
}


class OkxError(Exception):
    """An OKX error: `code` (a string on the wire), `msg`, the HTTP status, and per-order `data`."""

    def __init__(self, code: str, msg: str, status: int = 200, data: list[Any] | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.data = data or []


class OrderRefused(Exception):
    """One order refused: OKX answers `code "1"` with `sCode`/`sMsg` for it in `data`."""

    def __init__(self, s_code: str, s_msg: str) -> None:
        super().__init__(f"{s_code}: {s_msg}")
        self.s_code = s_code
        self.s_msg = s_msg


def refusal_from_core(e: VenueError, ccy: str = "") -> OrderRefused:
    table = {
        INSUFFICIENT_BALANCE: ("51008", f"Order failed. Insufficient {ccy} balance in account."),
        QTY_DECIMALS: ("51121", "Order quantity must be a multiple of the lot size."),
        QTY_TOO_SMALL: ("51020", "Your order should meet or exceed the minimum order amount."),
        QTY_TOO_LARGE: ("51202", "Market order amount exceeds the maximum amount."),
        VALUE_TOO_SMALL: ("51020", "Your order should meet or exceed the minimum order amount."),
        VALUE_TOO_LARGE: ("51202", "Market order amount exceeds the maximum amount."),
        PRICE_DECIMALS: ("51000", "Parameter px error"),
        DUPLICATE_LINK_ID: ("51016", "Duplicated clOrdId"),
        ORDER_NOT_FOUND: ("51603", "Order does not exist"),
        ORDER_REJECTED: ("51000", "Order rejected"),
    }
    s_code, s_msg = table.get(e.code, ("51000", e.message))
    return OrderRefused(s_code, s_msg)


# ------------------------------------------------------------------------------------------ params
def _param_error(name: str) -> OkxError:
    return OkxError("51000", f"Parameter {name} error")


def _dec(params: Params, name: str, *, required: bool = False) -> Decimal | None:
    try:
        value = parse_decimal(params.get(name))
    except ValueError:
        raise _param_error(name) from None
    if value is None and required:
        raise OkxError("50014", f"Parameter {name} can not be empty.")
    return value


def _int(params: Params, name: str) -> int | None:
    try:
        return parse_int(params.get(name))
    except ValueError:
        raise _param_error(name) from None


def inst_id(venue: SandboxVenue, symbol: str) -> str:
    inst = venue.exchange.instrument(symbol)
    return f"{inst.base}-{inst.quote}"


def _symbol(venue: SandboxVenue, params: Params, *, required: bool = True) -> str | None:
    raw = params.get("instId")
    if not raw:
        if required:
            raise OkxError("50014", "Parameter instId can not be empty.")
        return None
    symbol = str(raw).upper().replace("-", "/")
    if symbol not in venue.exchange.instruments():
        raise OkxError("51001", "Instrument ID does not exist.")
    return symbol


def _inst_type(params: Params, *, required: bool = False) -> None:
    kind = params.get("instType")
    if required and not kind:
        raise OkxError("50014", "Parameter instType can not be empty.")
    if kind and kind != "SPOT":
        raise OkxError("51000", f"Parameter instType error: the sandbox trades SPOT only, not {kind}")


def _limit(params: Params, default: int, maximum: int) -> int:
    return max(1, min(_int(params, "limit") or default, maximum))


def _page(rows: list[Any], params: Params, key: Callable[[Any], int], default: int = 100) -> list[Any]:
    """OKX pagination by id: `after` = older than this id, `before` = newer; newest first."""
    after, before = _int(params, "after"), _int(params, "before")
    rows = [r for r in rows if (after is None or key(r) < after) and (before is None or key(r) > before)]
    return rows[: _limit(params, default, 100)]


# -------------------------------------------------------------------------------------- renderings
def _is_algo(order: Order) -> bool:
    return order.trigger_price is not None


def visible_ord_id(order: Order) -> str:
    """The ordId OKX shows for an order: its own, or for a triggered algo the order it placed."""
    return str(int(order.order_id) + TRIGGERED_OFFSET) if _is_algo(order) else order.order_id


def _state(order: Order) -> str:
    return {
        "New": "live",
        "PartiallyFilled": "partially_filled",
        "Filled": "filled",
        "Cancelled": "canceled",
        "PartiallyFilledCanceled": "canceled",
        "Deactivated": "canceled",
        "Rejected": "canceled",
    }.get(order.status, "live")


def _ord_type(order: Order) -> str:
    if order.order_type == "Market":
        return "market"
    return {"PostOnly": "post_only", "IOC": "ioc", "FOK": "fok"}.get(order.time_in_force, "limit")


def _fee(order: Order) -> str:
    return fmt(-order.cum_exec_fee) if order.cum_exec_fee else "0"


def render_order(venue: SandboxVenue, order: Order) -> dict[str, object]:
    """`GET /api/v5/trade/order`'s record (a triggered algo shows as the order it placed)."""
    algo = _is_algo(order)
    last = venue.exchange.executions(order.account_id, order.symbol, order_id=order.order_id)[:1]
    return {
        "instType": "SPOT",
        "instId": inst_id(venue, order.symbol),
        "tgtCcy": "quote_ccy" if order.qty_in_quote else "base_ccy",
        "ccy": "",
        "ordId": visible_ord_id(order),
        "clOrdId": "" if algo else order.order_link_id,
        "tag": "",
        "px": fmt(order.price) if order.price is not None else "",
        "pxUsd": "",
        "pxVol": "",
        "pxType": "",
        "sz": fmt(order.qty),
        "pnl": "0",
        "ordType": _ord_type(order),
        "side": order.side.lower(),
        "posSide": "net",
        "tdMode": "cash",
        "accFillSz": fmt(order.cum_exec_qty),
        "fillPx": fmt(last[0].price) if last else "",
        "tradeId": last[0].exec_id if last else "",
        "fillSz": fmt(last[0].qty) if last else "0",
        "fillTime": str(last[0].ts_ms) if last else "",
        "avgPx": fmt(order.avg_price) if order.cum_exec_qty else "",
        "state": _state(order),
        "stpId": "",
        "stpMode": "cancel_maker",
        "lever": "",
        "attachAlgoClOrdId": "",
        "tpTriggerPx": "",
        "tpTriggerPxType": "",
        "tpOrdPx": "",
        "slTriggerPx": "",
        "slTriggerPxType": "",
        "slOrdPx": "",
        "attachAlgoOrds": [],
        "linkedAlgoOrd": {"algoId": ""},
        "feeCcy": order.fee_currency,
        "fee": _fee(order),
        "rebateCcy": venue.exchange.instrument(order.symbol).quote,
        "rebate": "0",
        "source": "",
        "category": "normal",
        "reduceOnly": "false",
        "isTpLimit": "false",
        "cancelSource": "",
        "cancelSourceReason": "",
        "quickMgnType": "",
        "algoClOrdId": order.order_link_id if algo else "",
        "algoId": order.order_id if algo else "",
        "uTime": str(order.updated_ms),
        "cTime": str(order.created_ms),
    }


def _algo_state(order: Order) -> str:
    if order.status == "Untriggered":
        return "live"
    if order.status == "Deactivated":
        return "canceled"
    if order.status == "Rejected":
        return "order_failed"
    return "effective"


def render_algo(venue: SandboxVenue, order: Order) -> dict[str, object]:
    """`GET /api/v5/trade/orders-algo-pending`'s record: a stop (conditional) or trigger order."""
    assert order.trigger_price is not None
    triggered = order.status != "Untriggered"
    stop = order.order_filter == "tpslOrder"
    ord_px = fmt(order.price) if order.price is not None else "-1"
    return {
        "instType": "SPOT",
        "instId": inst_id(venue, order.symbol),
        "ccy": "",
        "ordId": visible_ord_id(order) if triggered else "",
        "ordIdList": [visible_ord_id(order)] if triggered else [],
        "algoId": order.order_id,
        "clOrdId": "",
        "sz": fmt(order.qty),
        "closeFraction": "",
        "ordType": "conditional" if stop else "trigger",
        "side": order.side.lower(),
        "posSide": "net",
        "tdMode": "cash",
        "tgtCcy": "quote_ccy" if order.qty_in_quote else "base_ccy",
        "state": _algo_state(order),
        "lever": "",
        "tpTriggerPx": "",
        "tpTriggerPxType": "",
        "tpOrdPx": "",
        "slTriggerPx": fmt(order.trigger_price) if stop else "",
        "slTriggerPxType": "last" if stop else "",
        "slOrdPx": ord_px if stop else "",
        "triggerPx": "" if stop else fmt(order.trigger_price),
        "triggerPxType": "" if stop else "last",
        "ordPx": "" if stop else ord_px,
        "actualSz": fmt(order.qty) if triggered else "",
        "actualPx": fmt(order.avg_price) if order.cum_exec_qty else "",
        "actualSide": ("sl" if stop else "") if triggered else "",
        "triggerTime": str(order.updated_ms) if triggered else "",
        "pxVar": "",
        "pxSpread": "",
        "szLimit": "",
        "pxLimit": "",
        "tag": "",
        "timeInterval": "",
        "callbackRatio": "",
        "callbackSpread": "",
        "activePx": "",
        "moveTriggerPx": "",
        "reduceOnly": "false",
        "quickMgnType": "",
        "last": fmt(venue.exchange.price(order.symbol)),
        "failCode": "51008" if order.status == "Rejected" else "",
        "algoClOrdId": order.order_link_id,
        "amendPxOnTriggerType": "0",
        "attachAlgoOrds": [],
        "linkedOrd": {"ordId": ""},
        "cTime": str(order.created_ms),
        "uTime": str(order.updated_ms),
    }


def render_fill(venue: SandboxVenue, order: Order, e: Execution) -> dict[str, object]:
    """`GET /api/v5/trade/fills`' record (OKX shows a charged fee as a negative number)."""
    return {
        "instType": "SPOT",
        "instId": inst_id(venue, e.symbol),
        "tradeId": e.exec_id,
        "ordId": visible_ord_id(order),
        "clOrdId": "" if _is_algo(order) else order.order_link_id,
        "billId": e.exec_id,
        "subType": "1" if e.side == "Buy" else "2",
        "tag": "",
        "fillPx": fmt(e.price),
        "fillSz": fmt(e.qty),
        "fillIdxPx": "",
        "fillPnl": "0",
        "fillPxVol": "",
        "fillPxUsd": "",
        "fillMarkVol": "",
        "fillFwdPx": "",
        "fillMarkPx": "",
        "side": e.side.lower(),
        "posSide": "net",
        "execType": "M" if e.is_maker else "T",
        "feeCcy": e.fee_currency,
        "fee": fmt(-e.fee) if e.fee else "0",
        "feeRate": fmt(-e.fee_rate),
        "ts": str(e.ts_ms),
        "fillTime": str(e.ts_ms),
    }


# ------------------------------------------------------------------------------------------ market
def server_time(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    return [{"ts": str(venue.auth_now_ms())}]


def instruments(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    _inst_type(params, required=True)
    wanted = _symbol(venue, params, required=False)
    rows = []
    for symbol, inst in sorted(venue.exchange.instruments().items()):
        if wanted is not None and symbol != wanted:
            continue
        rows.append(
            {
                "alias": "",
                "baseCcy": inst.base,
                "category": "1",
                "ctMult": "",
                "ctType": "",
                "ctVal": "",
                "ctValCcy": "",
                "expTime": "",
                "instFamily": "",
                "instId": f"{inst.base}-{inst.quote}",
                "instType": "SPOT",
                "lever": "",
                "listTime": "1548133413000",
                "lotSz": fmt(inst.base_precision),
                "maxIcebergSz": fmt(inst.max_order_qty),
                "maxLmtAmt": fmt(inst.max_order_amt),
                "maxLmtSz": fmt(inst.max_order_qty),
                "maxMktAmt": fmt(inst.max_order_amt),
                "maxMktSz": fmt(inst.max_order_qty),
                "maxStopSz": fmt(inst.max_order_qty),
                "maxTriggerSz": fmt(inst.max_order_qty),
                "maxTwapSz": fmt(inst.max_order_qty),
                "minSz": fmt(inst.min_order_qty),
                "optType": "",
                "quoteCcy": inst.quote,
                "ruleType": "normal",
                "settleCcy": "",
                "state": "live",
                "stk": "",
                "tickSz": fmt(inst.tick_size),
                "uly": "",
            }
        )
    return rows


def _ticker(venue: SandboxVenue, symbol: str) -> dict[str, object]:
    inst = venue.exchange.instrument(symbol)
    t = venue.exchange.ticker(symbol)
    tick = inst.tick_size
    return {
        "instType": "SPOT",
        "instId": inst_id(venue, symbol),
        "last": fmt(on_tick(t.last, tick)),
        "lastSz": fmt(inst.base_precision),
        "askPx": fmt(t.ask),
        "askSz": fmt(t.ask_size),
        "bidPx": fmt(t.bid),
        "bidSz": fmt(t.bid_size),
        "open24h": fmt(on_tick(t.prev_24h, tick)),
        "high24h": fmt(on_tick(t.high_24h, tick)),
        "low24h": fmt(on_tick(t.low_24h, tick)),
        "volCcy24h": fmt(t.turnover_24h),
        "vol24h": fmt(t.volume_24h),
        "ts": str(venue.exchange.now_ms),
        "sodUtc0": fmt(on_tick(t.prev_24h, tick)),
        "sodUtc8": fmt(on_tick(t.prev_24h, tick)),
    }


def ticker(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    symbol = _symbol(venue, params)
    assert symbol is not None
    return [_ticker(venue, symbol)]


def tickers(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    _inst_type(params, required=True)
    return [_ticker(venue, s) for s in sorted(venue.exchange.instruments())]


def books(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    symbol = _symbol(venue, params)
    assert symbol is not None
    bids, asks = venue.exchange.order_book(symbol, max(1, min(_int(params, "sz") or 1, 400)))
    return [
        {
            "asks": [[fmt(p), fmt(q), "0", "1"] for p, q in asks],
            "bids": [[fmt(p), fmt(q), "0", "1"] for p, q in bids],
            "ts": str(venue.exchange.now_ms),
        }
    ]


def candles(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    symbol = _symbol(venue, params)
    assert symbol is not None
    bar = str(params.get("bar") or "1m")
    if bar not in BARS:
        raise _param_error("bar")
    after, before = _int(params, "after"), _int(params, "before")
    limit = _limit(params, 100, 300)
    end = after - 1 if after is not None else None
    start = before + 1 if before is not None and after is None else None
    rows = venue.exchange.klines(symbol, BARS[bar], start, end, limit)
    if before is not None:
        rows = [r for r in rows if r[0] > before]
    tick = venue.exchange.instrument(symbol).tick_size
    now = venue.exchange.now_ms
    out = [
        [
            str(t),
            fmt(on_tick(o, tick)),
            fmt(on_tick(h, tick)),
            fmt(on_tick(lo, tick)),
            fmt(on_tick(c, tick)),
            fmt(v),
            fmt(q),
            fmt(q),
            "0" if n == len(rows) - 1 and t <= now else "1",
        ]
        for n, (t, o, h, lo, c, v, q) in enumerate(rows)
    ]
    return out[::-1]  # newest first


def trades(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    symbol = _symbol(venue, params)
    assert symbol is not None
    return [
        {
            "instId": inst_id(venue, symbol),
            "tradeId": str(t),
            "px": fmt(p),
            "sz": fmt(q),
            "side": side.lower(),
            "source": "0",
            "ts": str(t),
        }
        for t, p, q, side in venue.exchange.recent_trades(symbol, _limit(params, 100, 500))
    ]


# ----------------------------------------------------------------------------------------- account
def balance(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    assert key is not None
    wanted = {c.strip().upper() for c in str(params.get("ccy") or "").split(",") if c.strip()}
    now = str(venue.exchange.now_ms)
    details = [
        {
            "ccy": coin,
            "eq": fmt(free + locked),
            "cashBal": fmt(free + locked),
            "availBal": fmt(free),
            "availEq": fmt(free),
            "frozenBal": fmt(locked),
            "ordFrozen": fmt(locked),
            "disEq": "",
            "eqUsd": "",
            "upl": "0",
            "uTime": now,
        }
        for coin, (free, locked) in venue.exchange.balances(key.account_id).items()
        if not wanted or coin in wanted
    ]
    return [
        {
            "totalEq": "",
            "adjEq": "",
            "isoEq": "0",
            "ordFroz": "",
            "imr": "",
            "mmr": "",
            "uTime": now,
            "details": details,
        }
    ]


def account_config(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    """`GET /api/v5/account/config`: `perm` is what a key may do (read_only, trade, withdraw)."""
    assert key is not None
    perm = ["read_only"]
    if key.can_trade_spot():
        perm.append("trade")
    if "Withdraw" in key.permissions.get("Wallet", []):
        perm.append("withdraw")
    return [
        {
            "uid": str(key.user_id),
            "mainUid": str(key.user_id),
            "acctLv": "1",
            "acctStpMode": "cancel_maker",
            "posMode": "net_mode",
            "autoLoan": False,
            "greeksType": "PA",
            "level": "Lv1",
            "levelTmp": "",
            "ctIsoMode": "automatic",
            "mgnIsoMode": "automatic",
            "roleType": "0",
            "traderInsts": [],
            "spotRoleType": "0",
            "spotTraderInsts": [],
            "opAuth": "0",
            "kycLv": "1",
            "label": key.note,
            "ip": "" if "*" in key.ips else ",".join(key.ips),
            "perm": ",".join(perm),
            "liquidationGear": "-1",
            "enableSpotBorrow": False,
            "spotBorrowAutoRepay": False,
            "type": "0",
        }
    ]


# ------------------------------------------------------------------------------------------ orders
def _client_id(params: Params, name: str) -> str:
    raw = str(params.get(name) or "")
    if raw and not CLIENT_ID.match(raw):
        raise OrderRefused("51000", f"Parameter {name} error")
    return raw


def _open_with_id(venue: SandboxVenue, key: ApiKey, link_id: str) -> bool:
    return bool(link_id) and any(
        o.order_link_id == link_id for o in venue.exchange.orders(key.account_id, active=True)
    )


def _size(params: Params, side: str, market: bool) -> tuple[Decimal, str]:
    """(sz, the core's market unit): spot market buys are in quote coin unless `tgtCcy=base_ccy`."""
    try:
        sz = parse_decimal(params.get("sz"))
    except ValueError:
        raise OrderRefused("51000", "Parameter sz error") from None
    if sz is None or sz <= 0:
        raise OrderRefused("51000", "Parameter sz error")
    tgt = str(params.get("tgtCcy") or "") or ("quote_ccy" if market and side == "Buy" else "base_ccy")
    if tgt not in ("base_ccy", "quote_ccy"):
        raise OrderRefused("51000", "Parameter tgtCcy error")
    return sz, "quoteCoin" if tgt == "quote_ccy" else "baseCoin"


def _place_on_core(
    venue: SandboxVenue,
    key: ApiKey,
    symbol: str,
    side: str,
    sz: Decimal,
    px: Decimal | None,
    link_id: str,
    unit: str,
    **kind: Any,
) -> Order:
    """One OKX order (plain or algo) on the venue core: a market order when `px` is None (sized in
    `unit`); a closed order's client id may be used again; the core's refusals in OKX's words."""
    try:
        return venue.exchange.place_order(
            key.account_id,
            symbol,
            side,
            "Market" if px is None else "Limit",
            sz,
            px,
            order_link_id=link_id,
            market_unit=unit if px is None else None,
            reuse_closed_link_ids=True,
            **kind,
        )
    except VenueError as e:
        inst = venue.exchange.instrument(symbol)
        raise refusal_from_core(e, inst.quote if side == "Buy" else inst.base) from None


def _common(venue: SandboxVenue, params: Params) -> tuple[str, str]:
    symbol = _symbol(venue, params)
    assert symbol is not None
    if params.get("tdMode") != "cash":
        raise OrderRefused("51000", "Parameter tdMode error: spot trading without margin is tdMode=cash")
    side = str(params.get("side") or "")
    if side not in ("buy", "sell"):
        raise OrderRefused("51000", "Parameter side error")
    return symbol, "Buy" if side == "buy" else "Sell"


def _place(venue: SandboxVenue, key: ApiKey, params: Params) -> dict[str, object]:
    symbol, side = _common(venue, params)
    link_id = _client_id(params, "clOrdId")
    ord_type = str(params.get("ordType") or "")
    tifs = {"limit": "GTC", "post_only": "PostOnly", "ioc": "IOC", "fok": "FOK", "market": "GTC"}
    if ord_type not in tifs:
        raise OrderRefused("51000", "Parameter ordType error")
    market = ord_type == "market"
    sz, unit = _size(params, side, market)
    try:
        px = parse_decimal(params.get("px"))
    except ValueError:
        raise OrderRefused("51000", "Parameter px error") from None
    if not market and (px is None or px <= 0):
        raise OrderRefused("51000", "Parameter px error")
    if _open_with_id(venue, key, link_id):
        raise OrderRefused("51016", "Duplicated clOrdId")
    order = _place_on_core(
        venue, key, symbol, side, sz, None if market else px, link_id, unit, time_in_force=tifs[ord_type]
    )
    if order.reject_reason == "EC_PostOnlyWillTakeLiquidity":
        raise OrderRefused("51019", "Order failed: the post-only order would take liquidity.")
    return {
        "clOrdId": link_id,
        "ordId": order.order_id,
        "tag": str(params.get("tag") or ""),
        "ts": str(order.created_ms),
        "sCode": "0",
        "sMsg": "Order placed",
    }


def _one(items: list[dict[str, object]]) -> list[Any]:
    """An order call's answer: code 0, or code 1 'All operations failed' with the per-order reasons."""
    if all(item.get("sCode") == "0" for item in items):
        return items
    raise OkxError("1", "All operations failed", data=items)


def _attempt(fn: Callable[[], dict[str, object]], ids: Mapping[str, object]) -> dict[str, object]:
    try:
        return fn()
    except OrderRefused as e:
        return {**ids, "sCode": e.s_code, "sMsg": e.s_msg, "ts": ""}


def place_order(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    assert key is not None
    ids = {"clOrdId": str(params.get("clOrdId") or ""), "ordId": "", "tag": str(params.get("tag") or "")}
    return _one([_attempt(lambda: _place(venue, key, params), ids)])


def place_batch(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    """`POST /api/v5/trade/batch-orders` (ccxt's default for one order too): each order on its own."""
    assert key is not None
    items = params.get("_list")
    if (
        not isinstance(items, list)
        or not 1 <= len(items) <= 20
        or not all(isinstance(i, dict) for i in items)
    ):
        raise OkxError("50014", "Parameter orders can not be empty; send 1 to 20 orders.")
    out = []
    for item in items:
        ids = {"clOrdId": str(item.get("clOrdId") or ""), "ordId": "", "tag": str(item.get("tag") or "")}
        out.append(_attempt(functools.partial(_place, venue, key, item), ids))
    return _one(out)


def _find(venue: SandboxVenue, key: ApiKey, params: Params, symbol: str) -> Order | None:
    ord_id, cl_id = params.get("ordId"), params.get("clOrdId")
    if not ord_id and not cl_id:
        raise OkxError("51000", "Parameter ordId or clOrdId error: either is required")
    found: Order | None
    if ord_id:
        raw = _int(params, "ordId") or 0
        core_id = str(raw - TRIGGERED_OFFSET) if raw >= TRIGGERED_OFFSET else str(raw)
        found = venue.exchange.get_order(key.account_id, order_id=core_id)
        if found is not None and (
            _is_algo(found) != (raw >= TRIGGERED_OFFSET) or found.status == "Untriggered"
        ):
            found = None
    else:
        found = venue.exchange.get_order(key.account_id, order_link_id=str(cl_id))
        if found is not None and _is_algo(found):
            found = None
    return found if found is not None and found.symbol == symbol else None


def query_order(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    assert key is not None
    symbol = _symbol(venue, params)
    assert symbol is not None
    order = _find(venue, key, params, symbol)
    if order is None:
        raise OkxError("51603", "Order does not exist")
    return [render_order(venue, order)]


def cancel_order(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    assert key is not None
    symbol = _symbol(venue, params)
    assert symbol is not None
    ids = {"clOrdId": str(params.get("clOrdId") or ""), "ordId": str(params.get("ordId") or "")}

    def cancel() -> dict[str, object]:
        order = _find(venue, key, params, symbol)
        if order is None or not order.active:
            raise OrderRefused(
                "51400", "Order cancellation failed as the order has been filled, canceled or does not exist."
            )
        venue.exchange.cancel_order(key.account_id, order_id=order.order_id)
        return {
            "clOrdId": "" if _is_algo(order) else order.order_link_id,
            "ordId": visible_ord_id(order),
            "ts": str(order.updated_ms),
            "sCode": "0",
            "sMsg": "",
        }

    return _one([_attempt(cancel, ids)])


# How far back OKX's history reads reach (v5 docs): orders 7 days / 3 months (archive), fills 3 days /
# 3 months (history); older records are not returned.
DAY_MS = 86_400_000
ORDERS_WINDOW_MS, ORDERS_ARCHIVE_MS = 7 * DAY_MS, 90 * DAY_MS
FILLS_WINDOW_MS, FILLS_HISTORY_MS = 3 * DAY_MS, 90 * DAY_MS


def _orders(
    venue: SandboxVenue, key: ApiKey, params: Params, *, active: bool, window_ms: int = 0
) -> list[Order]:
    _inst_type(params, required=not active)
    oldest = venue.exchange.now_ms - window_ms if window_ms else None
    symbol = _symbol(venue, params, required=False)
    orders = venue.exchange.orders(key.account_id, symbol, active=True if active else None)
    wanted = params.get("ordType")
    visible = [
        o
        for o in orders
        if (not _is_algo(o) or o.status != "Untriggered")
        and (active or not o.active)
        and (not wanted or _ord_type(o) == wanted)
        and (oldest is None or o.created_ms >= oldest)
    ]
    return _page(visible, params, lambda o: int(visible_ord_id(o)))


def orders_pending(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    assert key is not None
    return [render_order(venue, o) for o in _orders(venue, key, params, active=True)]


def orders_history(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    assert key is not None
    closed = _orders(venue, key, params, active=False, window_ms=ORDERS_WINDOW_MS)
    return [render_order(venue, o) for o in closed]


def orders_archive(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    assert key is not None
    closed = _orders(venue, key, params, active=False, window_ms=ORDERS_ARCHIVE_MS)
    return [render_order(venue, o) for o in closed]


def fills(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    return _fills(venue, params, key, FILLS_WINDOW_MS)


def fills_history(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    return _fills(venue, params, key, FILLS_HISTORY_MS)


def _fills(venue: SandboxVenue, params: Params, key: ApiKey | None, window_ms: int) -> list[Any]:
    assert key is not None
    _inst_type(params)
    symbol = _symbol(venue, params, required=False)
    wanted = params.get("ordId")
    oldest = venue.exchange.now_ms - window_ms
    begin, end = _int(params, "begin"), _int(params, "end")
    begin = oldest if begin is None else max(begin, oldest)
    rows = []
    for e in venue.exchange.executions(key.account_id, symbol, start_ms=begin, end_ms=end):
        order = venue.exchange.get_order(key.account_id, order_id=e.order_id)
        assert order is not None
        if wanted and visible_ord_id(order) != wanted:
            continue
        rows.append((e, order))
    rows = _page(rows, params, lambda row: int(row[0].exec_id))
    return [render_fill(venue, order, e) for e, order in rows]


# ------------------------------------------------------------------------------------- algo orders
def _place_algo(venue: SandboxVenue, key: ApiKey, params: Params) -> dict[str, object]:
    symbol, side = _common(venue, params)
    link_id = _client_id(params, "algoClOrdId")
    kind = str(params.get("ordType") or "")
    if kind == "conditional":
        if params.get("tpTriggerPx"):
            raise OrderRefused("51000", "Parameter tpTriggerPx error: the sandbox rests stop-loss legs only")
        trigger_raw, px_raw = params.get("slTriggerPx"), params.get("slOrdPx")
    elif kind == "trigger":
        trigger_raw, px_raw = params.get("triggerPx"), params.get("orderPx")
    else:
        raise OrderRefused(
            "51000", "Parameter ordType error: the sandbox takes conditional and trigger algos"
        )
    try:
        trigger = parse_decimal(trigger_raw)
        px = parse_decimal(px_raw)
    except ValueError:
        raise OrderRefused("51000", "Parameter triggerPx error") from None
    if trigger is None or trigger <= 0:
        raise OrderRefused("51000", "Parameter triggerPx error")
    market = px is None or px == -1
    sz, unit = _size(params, side, market)
    if _open_with_id(venue, key, link_id):
        raise OrderRefused("51016", "Duplicated clOrdId")
    last = venue.exchange.price(symbol)
    direction = 0
    if kind == "conditional":  # a stop loss: a sell fires as the price falls to it, a buy as it rises
        direction = 2 if side == "Sell" else 1
        if (direction == 2 and last <= trigger) or (direction == 1 and last >= trigger):
            raise OrderRefused("51280", "SL trigger price must be less than the last price")
    order = _place_on_core(
        venue,
        key,
        symbol,
        side,
        sz,
        None if market else px,
        link_id,
        unit,
        order_filter="tpslOrder" if kind == "conditional" else "StopOrder",
        trigger_price=trigger,
        trigger_direction=direction,
    )
    return {
        "algoId": order.order_id,
        "clOrdId": "",
        "algoClOrdId": link_id,
        "sCode": "0",
        "sMsg": "",
        "tag": "",
    }


def place_algo(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    assert key is not None
    ids = {"algoId": "", "clOrdId": "", "algoClOrdId": str(params.get("algoClOrdId") or "")}
    return _one([_attempt(lambda: _place_algo(venue, key, params), ids)])


def _algo(venue: SandboxVenue, key: ApiKey, algo_id: str | None, algo_cl_id: str | None) -> Order | None:
    if algo_id:
        found = venue.exchange.get_order(key.account_id, order_id=algo_id)
    elif algo_cl_id:
        found = venue.exchange.get_order(key.account_id, order_link_id=algo_cl_id)
    else:
        raise OkxError("51000", "Parameter algoId or algoClOrdId error: either is required")
    return found if found is not None and _is_algo(found) else None


def cancel_algos(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    assert key is not None
    items = params.get("_list")
    if not isinstance(items, list) or not items:
        raise OkxError("50014", "Parameter algoId can not be empty.")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise OkxError("51000", "Parameter algoId error")
        algo_id = str(item.get("algoId") or "")

        def cancel(item: dict[str, Any] = item, algo_id: str = algo_id) -> dict[str, object]:
            symbol = _symbol(venue, item)
            found = _algo(venue, key, algo_id or None, item.get("algoClOrdId"))
            if found is None or found.symbol != symbol or found.status != "Untriggered":
                raise OrderRefused("51400", "Cancellation failed as the order does not exist.")
            venue.exchange.cancel_order(key.account_id, order_id=found.order_id)
            return {"algoId": found.order_id, "algoClOrdId": found.order_link_id, "sCode": "0", "sMsg": ""}

        out.append(_attempt(cancel, {"algoId": algo_id, "algoClOrdId": ""}))
    return _one(out)


def _algos(venue: SandboxVenue, key: ApiKey, params: Params, *, pending: bool) -> list[Order]:
    _inst_type(params)
    kind = params.get("ordType")
    if not kind and not params.get("algoId"):
        raise OkxError("50014", "Parameter ordType can not be empty.")
    symbol = _symbol(venue, params, required=False)
    algo_id, algo_cl_id = params.get("algoId"), params.get("algoClOrdId")
    state = params.get("state")
    kinds = set(str(kind).split(",")) if kind else {"conditional", "trigger"}
    rows = [
        o
        for o in venue.exchange.orders(key.account_id, symbol)
        if _is_algo(o)
        and ("conditional" if o.order_filter == "tpslOrder" else "trigger") in kinds
        and ((o.status == "Untriggered") == pending)
        and (not algo_id or o.order_id == algo_id)
        and (not algo_cl_id or o.order_link_id == algo_cl_id)
        and (not state or _algo_state(o) == state)
    ]
    return _page(rows, params, lambda o: int(o.order_id))


def algos_pending(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    assert key is not None
    return [render_algo(venue, o) for o in _algos(venue, key, params, pending=True)]


def algos_history(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    assert key is not None
    if not params.get("state") and not params.get("algoId"):
        raise OkxError("50014", "Parameter state can not be empty.")
    return [render_algo(venue, o) for o in _algos(venue, key, params, pending=False)]


def query_algo(venue: SandboxVenue, params: Params, key: ApiKey | None) -> list[Any]:
    assert key is not None
    found = _algo(venue, key, params.get("algoId"), params.get("algoClOrdId"))
    if found is None:
        raise OkxError("51603", "Order does not exist")
    return [render_algo(venue, found)]


# (method, path) -> (handler, private, needs the trade permission)
ROUTES: dict[tuple[str, str], tuple[Handler, bool, bool]] = {
    ("GET", "/api/v5/public/time"): (server_time, False, False),
    ("GET", "/api/v5/public/instruments"): (instruments, False, False),
    ("GET", "/api/v5/market/ticker"): (ticker, False, False),
    ("GET", "/api/v5/market/tickers"): (tickers, False, False),
    ("GET", "/api/v5/market/books"): (books, False, False),
    ("GET", "/api/v5/market/candles"): (candles, False, False),
    ("GET", "/api/v5/market/history-candles"): (candles, False, False),
    ("GET", "/api/v5/market/trades"): (trades, False, False),
    ("GET", "/api/v5/account/balance"): (balance, True, False),
    ("GET", "/api/v5/account/config"): (account_config, True, False),
    ("POST", "/api/v5/trade/order"): (place_order, True, True),
    ("POST", "/api/v5/trade/batch-orders"): (place_batch, True, True),
    ("GET", "/api/v5/trade/order"): (query_order, True, False),
    ("POST", "/api/v5/trade/cancel-order"): (cancel_order, True, True),
    ("GET", "/api/v5/trade/orders-pending"): (orders_pending, True, False),
    ("GET", "/api/v5/trade/orders-history"): (orders_history, True, False),
    ("GET", "/api/v5/trade/orders-history-archive"): (orders_archive, True, False),
    ("GET", "/api/v5/trade/fills"): (fills, True, False),
    ("GET", "/api/v5/trade/fills-history"): (fills_history, True, False),
    ("POST", "/api/v5/trade/order-algo"): (place_algo, True, True),
    ("POST", "/api/v5/trade/cancel-algos"): (cancel_algos, True, True),
    ("GET", "/api/v5/trade/orders-algo-pending"): (algos_pending, True, False),
    ("GET", "/api/v5/trade/orders-algo-history"): (algos_history, True, False),
    ("GET", "/api/v5/trade/order-algo"): (query_algo, True, False),
}


# -------------------------------------------------------------------------------------------- auth
def _auth_error(code: str, msg: str) -> OkxError:
    return OkxError(code, msg, 401)


def _parse_timestamp(raw: str) -> int:
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _auth_error("50112", "Invalid OK-ACCESS-TIMESTAMP.") from None
    if moment.tzinfo is None:
        raise _auth_error("50112", "Invalid OK-ACCESS-TIMESTAMP.")
    return int(moment.timestamp() * 1000)


def sign(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def authenticate(
    venue: SandboxVenue, request: Request, request_path: str, body: str, needs_trade: bool
) -> ApiKey:
    headers = request.headers
    api_key = headers.get("ok-access-key", "")
    signature = headers.get("ok-access-sign", "")
    timestamp = headers.get("ok-access-timestamp", "")
    passphrase = headers.get("ok-access-passphrase")
    if not api_key:
        raise _auth_error("50103", "Request header OK-ACCESS-KEY can not be empty.")
    if not signature:
        raise _auth_error("50106", "Request header OK-ACCESS-SIGN can not be empty.")
    if not timestamp:
        raise _auth_error("50107", "Request header OK-ACCESS-TIMESTAMP can not be empty.")
    if not passphrase:
        raise _auth_error("50104", "Request header OK-ACCESS-PASSPHRASE can not be empty.")
    key = venue.keys.get(api_key)
    if key is None:
        raise _auth_error("50111", "Invalid OK-ACCESS-KEY.")
    ts = _parse_timestamp(timestamp)
    if abs(venue.auth_now_ms() - ts) > TIMESTAMP_WINDOW_MS:
        raise _auth_error("50102", "Timestamp request expired.")
    if not key.passphrase or not hmac.compare_digest(key.passphrase, passphrase):
        raise _auth_error("50105", "Invalid OK-ACCESS-PASSPHRASE.")
    expected = sign(key.api_secret, f"{timestamp}{request.method}{request_path}{body}")
    if not hmac.compare_digest(expected, signature):
        raise _auth_error("50113", "Invalid Sign.")
    client_ip = request.client.host if request.client else ""
    if not key.ip_allowed(client_ip):
        raise _auth_error("50110", f"Your IP {client_ip} is not included in your API key's IP whitelist.")
    if needs_trade and not key.can_trade_spot():
        raise _auth_error("50120", "API key doesn't have permission.")
    return key


def parse_params(method: str, query: str, body: str) -> Params:
    try:
        data = json_request_params(method, query, body)
    except ValueError:
        raise OkxError("50002", "JSON syntax error") from None
    if isinstance(data, list):
        return {"_list": data}
    if not isinstance(data, dict):
        raise OkxError("50002", "JSON syntax error")
    return data


# ---------------------------------------------------------------------------------------- dispatch
def _envelope(
    code: str, msg: str, data: list[Any], status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"code": code, "msg": msg, "data": data}, status_code=status, headers=headers)


def _fault_response(kind: str, status: int) -> Response | None:
    if kind == "rate_limit":
        return _envelope("50011", "Too Many Requests", [], 429)
    if kind == "reject_order":
        return _envelope(
            "1",
            "All operations failed",
            [{"sCode": "51000", "sMsg": "Order rejected", "ordId": "", "clOrdId": ""}],
        )
    return transport_fault(kind, status)


_CREATE_PATHS = frozenset({"/api/v5/trade/order", "/api/v5/trade/batch-orders", "/api/v5/trade/order-algo"})


async def dispatch(venue: SandboxVenue, request: Request, path: str) -> Response:
    route = ROUTES.get((request.method, path))
    if route is None:
        return _envelope("50014", f"The sandbox does not serve {request.method} {path}.", [], 404)
    handler, private, needs_trade = route
    return await with_faults(
        venue,
        path,
        is_order_create=request.method == "POST" and path in _CREATE_PATHS,
        fault_response=_fault_response,
        answer=lambda: _answer(venue, request, path, handler, private, needs_trade),
    )


async def _answer(
    venue: SandboxVenue, request: Request, path: str, handler: Handler, private: bool, needs_trade: bool
) -> Response:
    query = request.scope.get("query_string", b"").decode("latin-1")
    body = (await request.body()).decode("utf-8", "replace") if request.method == "POST" else ""
    try:
        venue.sync()
        request_path = path + (f"?{query}" if query else "")
        key = authenticate(venue, request, request_path, body, needs_trade) if private else None
        if key is not None and venue.rate_limits is not None:
            allowed, *_ = venue.rate_limits.take(
                key.api_key, "trade" if needs_trade else "read", venue.auth_now_ms()
            )
            if not allowed:
                raise OkxError("50011", "Too Many Requests", 429)
        params = parse_params(request.method, query, body)
        try:
            data = handler(venue, params, key)
        except VenueError as e:
            if e.message == UNKNOWN_SYMBOL:
                raise OkxError("51001", "Instrument ID does not exist.") from None
            refusal = refusal_from_core(e)
            raise OkxError(refusal.s_code, refusal.s_msg) from None
        return _envelope("0", "", data)
    except OkxError as e:
        return _envelope(e.code, e.msg, e.data, e.status)
    except Exception:  # the venue must answer like OKX, never with a traceback
        log.exception("sandbox (okx): %s %s failed", request.method, path)
        return _envelope("50000", "Internal server error.", [], 500)
