"""Instrument rules and exchange-precision rounding, in Decimal."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal


@dataclass(frozen=True, slots=True)
class InstrumentRules:
    symbol: str  # unified, e.g. "BTC/USDT"
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    max_qty: Decimal | None = None
    active: bool = True

    def round_qty_down(self, qty: Decimal) -> Decimal:
        return _quantize(qty, self.lot_size, ROUND_DOWN)

    def round_price(self, price: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
        return _quantize(price, self.tick_size, rounding)

    def round_price_up(self, price: Decimal) -> Decimal:
        return _quantize(price, self.tick_size, ROUND_UP)

    def round_price_down(self, price: Decimal) -> Decimal:
        return _quantize(price, self.tick_size, ROUND_DOWN)


def _quantize(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        return value
    units = (value / step).quantize(Decimal(1), rounding=rounding)
    return (units * step).normalize() if units else Decimal(0)
