"""ccxt's unified dicts → QARI core types. Money is `Decimal` built from the venue's **strings**
(ccxt's floats are only used when no string form exists, via `str()` of the float's repr)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from qari.core.instrument import InstrumentRules
from qari.core.market import OrderBook, Ticker
from qari.core.orders import Balance, Fill, OrderReport, OrderStatus, OrderType, Side


def dec(value: Any) -> Decimal | None:
    """Decimal from a string/number without passing through binary float arithmetic."""
    if value is None or value == "":
        return None
    try:
        result = Decimal(value if isinstance(value, str) else repr(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def dec0(value: Any) -> Decimal:
    return dec(value) or Decimal(0)


def _step(precision: Any, mode: int) -> Decimal:
    """ccxt precision → step size. TICK_SIZE mode (4) gives the step, DECIMAL_PLACES (2) a digit count."""
    value = dec(precision)
    if value is None:
        return Decimal(0)
    if mode == 4 or value < 1 or value != value.to_integral_value():
        return value
    return Decimal(1).scaleb(-int(value))


def instrument_from_ccxt(market: dict[str, Any], precision_mode: int) -> InstrumentRules:
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    amount_limits = limits.get("amount") or {}
    cost_limits = limits.get("cost") or {}
    info = market.get("info") or {}
    lot_filter = info.get("lotSizeFilter") or {} if isinstance(info, dict) else {}
    min_notional = dec(cost_limits.get("min")) or dec(lot_filter.get("minOrderAmt")) or Decimal(0)
    return InstrumentRules(
        symbol=str(market["symbol"]),
        base=str(market["base"]),
        quote=str(market["quote"]),
        tick_size=_step(precision.get("price"), precision_mode),
        lot_size=_step(precision.get("amount"), precision_mode),
        min_qty=dec0(amount_limits.get("min")),
        min_notional=min_notional,
        max_qty=dec(amount_limits.get("max")),
        active=market.get("active") is not False,
    )


def balances_from_ccxt(balance: dict[str, Any]) -> dict[str, Balance]:
    """Only currencies with a non-zero total; `free`/`used` from ccxt's per-currency dicts."""
    out: dict[str, Balance] = {}
    for currency, entry in balance.items():
        if currency in ("info", "free", "used", "total", "timestamp", "datetime", "debt"):
            continue
        if not isinstance(entry, dict):
            continue
        free = dec0(entry.get("free"))
        total = dec(entry.get("total"))
        used = dec(entry.get("used"))
        if used is None:
            used = (total - free) if total is not None else Decimal(0)
        if free == 0 and used == 0:
            continue
        out[currency] = Balance(currency=currency, free=free, used=max(used, Decimal(0)))
    return out


def ticker_from_ccxt(symbol: str, raw: dict[str, Any]) -> Ticker:
    last = dec(raw.get("last")) or dec(raw.get("close"))
    if last is None:
        bid, ask = dec(raw.get("bid")), dec(raw.get("ask"))
        last = (bid + ask) / 2 if bid is not None and ask is not None else Decimal(0)
    return Ticker(
        symbol=symbol,
        last=last,
        bid=dec(raw.get("bid")),
        ask=dec(raw.get("ask")),
        quote_volume_24h=dec(raw.get("quoteVolume")),
        ts_ms=raw.get("timestamp"),
    )


def order_book_from_ccxt(symbol: str, raw: dict[str, Any]) -> OrderBook:
    def side(levels: Any) -> tuple[tuple[Decimal, Decimal], ...]:
        return tuple((dec0(level[0]), dec0(level[1])) for level in levels or ())

    return OrderBook(
        symbol=symbol, bids=side(raw.get("bids")), asks=side(raw.get("asks")), ts_ms=raw.get("timestamp")
    )


_STATUS = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.CANCELED,
    "rejected": OrderStatus.REJECTED,
}

# Raw venue states ccxt folds into "open" but QARI distinguishes.
_UNTRIGGERED = {"untriggered", "not_triggered", "live", "new_trigger", "active_trigger"}


def _order_status(raw: dict[str, Any], filled: Decimal) -> OrderStatus:
    info = raw.get("info") or {}
    venue_state = str(info.get("orderStatus") or info.get("status") or info.get("state") or "").lower()
    if venue_state == "untriggered" or (raw.get("triggerPrice") and venue_state in _UNTRIGGERED):
        return OrderStatus.UNTRIGGERED
    status = _STATUS.get(str(raw.get("status") or "open"), OrderStatus.OPEN)
    if status is OrderStatus.OPEN and filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    if status is OrderStatus.CANCELED and venue_state in ("filled",):
        return OrderStatus.FILLED
    return status


def _order_type(raw: dict[str, Any]) -> OrderType:
    if raw.get("triggerPrice") or raw.get("stopPrice"):
        return OrderType.STOP_MARKET
    return OrderType.MARKET if str(raw.get("type") or "").lower() == "market" else OrderType.LIMIT


def order_from_ccxt(raw: dict[str, Any], *, fallback_symbol: str | None = None) -> OrderReport:
    filled = dec0(raw.get("filled"))
    amount = dec(raw.get("amount")) or filled
    fee = raw.get("fee") or {}
    fees = [f for f in (raw.get("fees") or ([fee] if fee else [])) if f]
    # ccxt lists Gate's GT fee and rebate (mostly 0) beside the fee really charged: the first currency
    # actually charged is the fee's, and only amounts in it are added (never GT plus USDT).
    charged = [f for f in fees if dec0(f.get("cost")) != 0]
    fee_currency = next((f.get("currency") for f in charged or fees if f.get("currency")), None)
    fee_total = sum(
        (dec0(f.get("cost")) for f in fees if f.get("currency") in (fee_currency, None)), Decimal(0)
    )
    return OrderReport(
        symbol=str(raw.get("symbol") or fallback_symbol or ""),
        exchange_order_id=str(raw.get("id") or ""),
        client_order_id=raw.get("clientOrderId") or None,
        side=Side.SELL if str(raw.get("side") or "").lower() == "sell" else Side.BUY,
        type=_order_type(raw),
        status=_order_status(raw, filled),
        qty_base=amount,
        filled_base=filled,
        avg_price=dec(raw.get("average")) if filled > 0 else None,
        price=dec(raw.get("price")),
        trigger_price=dec(raw.get("triggerPrice")) or dec(raw.get("stopPrice")),
        fee=fee_total,
        fee_currency=fee_currency,
        updated_ms=raw.get("lastUpdateTimestamp") or raw.get("timestamp"),
    )


def fill_from_ccxt(raw: dict[str, Any]) -> Fill:
    fee = raw.get("fee") or {}
    info = raw.get("info") or {}
    client_id = info.get("orderLinkId") or info.get("clientOrderId") or info.get("clOrdId") or None
    return Fill(
        symbol=str(raw.get("symbol") or ""),
        trade_id=str(raw.get("id") or ""),
        exchange_order_id=str(raw.get("order") or ""),
        client_order_id=str(client_id) if client_id else None,
        side=Side.SELL if str(raw.get("side") or "").lower() == "sell" else Side.BUY,
        price=dec0(raw.get("price")),
        qty_base=dec0(raw.get("amount")),
        fee=dec0(fee.get("cost")),
        fee_currency=str(fee.get("currency") or ""),
        ts_ms=int(raw.get("timestamp") or 0),
        is_maker=raw.get("takerOrMaker") == "maker",
    )
