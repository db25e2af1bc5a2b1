"""Venue-neutral order intents and reports. Spot only (R1): there is no field for leverage,
margin, reduce-only or a short side, so no order built from these types can express one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"
    STOP_MARKET = "stop_market"  # spot stop: sells at market once price trades at/below trigger


class SpotStopKind(StrEnum):
    """How a venue rests a spot stop-loss (venue data: `adapters/exchanges/capabilities`)."""

    MARKET_TRIGGER = "market_trigger"  # a trigger order that sells at market
    STOP_LIMIT = "stop_limit"  # a trigger order that places a limit sell a little below the trigger
    NONE = "none"  # no spot stop: QARI's server-side watchdog sells at market


class OrderStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    UNTRIGGERED = "untriggered"  # conditional order resting, not yet triggered


@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: str
    side: Side
    type: OrderType
    qty_base: Decimal
    client_order_id: str
    price: Decimal | None = None
    trigger_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderReport:
    symbol: str
    exchange_order_id: str
    client_order_id: str | None
    side: Side
    type: OrderType
    status: OrderStatus
    qty_base: Decimal
    filled_base: Decimal
    avg_price: Decimal | None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    fee: Decimal = Decimal(0)
    fee_currency: str | None = None
    updated_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Fill:
    symbol: str
    trade_id: str
    exchange_order_id: str
    client_order_id: str | None
    side: Side
    price: Decimal
    qty_base: Decimal
    fee: Decimal
    fee_currency: str
    ts_ms: int
    is_maker: bool = False


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str
    free: Decimal
    used: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.used
