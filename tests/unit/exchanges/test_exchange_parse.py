"""ccxt unified dicts → core types, Decimal exact."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from qari.adapters.exchanges.parse import balances_from_ccxt, dec, instrument_from_ccxt, order_from_ccxt
from qari.core.orders import OrderStatus, OrderType, Side


@given(st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1e9"), places=8))
def test_dec_when_float_of_decimal_string_then_same_shortest_value(value: Decimal) -> None:
    assert dec(float(str(value))) == Decimal(repr(float(str(value))))
    assert dec(str(value)) == value


def test_dec_when_garbage_then_none() -> None:
    assert dec("") is None and dec(None) is None and dec("nan") is None and dec("abc") is None


def test_instrument_when_tick_size_precision_then_steps() -> None:
    market = {
        "symbol": "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "spot": True,
        "active": True,
        "precision": {"price": 0.01, "amount": 0.000001},
        "limits": {"amount": {"min": 0.000048, "max": 71.7}, "cost": {"min": 5}},
    }
    rules = instrument_from_ccxt(market, 4)
    assert rules.tick_size == Decimal("0.01") and rules.lot_size == Decimal("0.000001")
    assert rules.min_notional == Decimal(5) and rules.min_qty == Decimal("0.000048")


def test_balances_when_zero_rows_then_dropped() -> None:
    raw = {
        "USDT": {"free": 1000.5, "used": 0.25, "total": 1000.75},
        "BTC": {"free": 0, "used": 0, "total": 0},
    }
    assert balances_from_ccxt(raw)["USDT"].total == Decimal("1000.75")
    assert "BTC" not in balances_from_ccxt(raw)


def test_order_when_open_with_fill_then_partially_filled() -> None:
    raw = {
        "id": "1",
        "clientOrderId": "c1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "limit",
        "status": "open",
        "amount": 0.002,
        "filled": 0.001,
        "average": 30000.1,
        "price": 30000.1,
        "fee": {"cost": 0.03, "currency": "USDT"},
    }
    report = order_from_ccxt(raw)
    assert report.status is OrderStatus.PARTIALLY_FILLED and report.side is Side.BUY
    assert report.filled_base == Decimal("0.001") and report.fee == Decimal("0.03")


def test_order_when_stop_untriggered_then_untriggered_stop_market() -> None:
    raw = {
        "id": "2",
        "symbol": "BTC/USDT",
        "side": "sell",
        "type": "market",
        "status": "open",
        "amount": 1,
        "filled": 0,
        "triggerPrice": 25000,
        "info": {"orderStatus": "Untriggered"},
    }
    report = order_from_ccxt(raw)
    assert report.type is OrderType.STOP_MARKET and report.status is OrderStatus.UNTRIGGERED
    assert report.trigger_price == Decimal(25000)
