"""The sandbox's records: instruments, orders, executions, accounts, and Bybit's error codes.

Field values use Bybit's vocabulary (sides `Buy`/`Sell`, order types `Limit`/`Market`, statuses
`New`/`PartiallyFilled`/`Untriggered`/`Filled`/`Cancelled`/`PartiallyFilledCanceled`/`Rejected`/
`Deactivated`), so the HTTP layer renders them without translation.

Locks: every active order holds exactly `lock_need(order)` of one coin (quote for buys, base for
sells); `Account.locked[coin]` is the sum over its orders. A spot conditional order (`StopOrder`)
locks nothing until it triggers; a spot TP/SL order (`tpslOrder`) locks from the moment it is placed,
as on Bybit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)

ACTIVE = frozenset({"New", "PartiallyFilled", "Untriggered"})
FINAL = frozenset({"Filled", "Cancelled", "PartiallyFilledCanceled", "Rejected", "Deactivated"})


class VenueError(Exception):
    """A Bybit error: `code` is the retCode, `message` the retMsg."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


PARAMS = 10001
INSUFFICIENT_BALANCE = 170131
QTY_TOO_SMALL = 170136
QTY_TOO_LARGE = 170135
QTY_DECIMALS = 170137
PRICE_DECIMALS = 170134
VALUE_TOO_SMALL = 170140
VALUE_TOO_LARGE = 170124
DUPLICATE_LINK_ID = 170141
ORDER_NOT_FOUND = 170213
ORDER_REJECTED = 170210
# The core's answer (code PARAMS) for a symbol it does not list; each protocol words it its own way.
UNKNOWN_SYMBOL = "Not supported symbols"


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str  # unified "BTC/USDT"
    venue_id: str  # "BTCUSDT"
    base: str
    quote: str
    tick_size: Decimal
    base_precision: Decimal  # lot step
    quote_precision: Decimal
    min_order_qty: Decimal
    max_order_qty: Decimal
    min_order_amt: Decimal
    max_order_amt: Decimal
    source: str = "formula"  # where the rules come from: "formula" (scaled to the price) or a recording


@dataclass(slots=True)
class Order:
    order_id: str
    account_id: str
    symbol: str
    side: str  # "Buy" | "Sell"
    order_type: str  # "Limit" | "Market"
    qty: Decimal  # in `market_unit` for market orders, base otherwise
    price: Decimal | None
    time_in_force: str
    order_link_id: str
    created_ms: int
    market_unit: str = "baseCoin"  # "baseCoin" | "quoteCoin"
    order_filter: str = "Order"  # "Order" | "StopOrder" | "tpslOrder"
    trigger_price: Decimal | None = None
    trigger_direction: int = 0  # 1: triggers when price rises to it, 2: when it falls to it
    status: str = "New"
    cum_exec_qty: Decimal = ZERO
    cum_exec_value: Decimal = ZERO
    cum_exec_fee: Decimal = ZERO
    fee_currency: str = ""
    locked: Decimal = ZERO
    reject_reason: str = "EC_NoError"
    updated_ms: int = 0

    @property
    def is_buy(self) -> bool:
        return self.side == "Buy"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def qty_in_quote(self) -> bool:
        return self.order_type == "Market" and self.market_unit == "quoteCoin"

    @property
    def leaves_qty(self) -> Decimal:
        """Base quantity still to fill (quote-sized market orders report 0)."""
        if not self.active or self.qty_in_quote:
            return ZERO
        return self.qty - self.cum_exec_qty

    @property
    def avg_price(self) -> Decimal:
        return self.cum_exec_value / self.cum_exec_qty if self.cum_exec_qty else ZERO

    @property
    def stop_order_type(self) -> str:
        return {"StopOrder": "Stop", "tpslOrder": "tpslOrder"}.get(self.order_filter, "")


@dataclass(frozen=True, slots=True)
class Execution:
    exec_id: str
    order_id: str
    order_link_id: str
    account_id: str
    symbol: str
    side: str
    order_type: str
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_rate: Decimal
    fee_currency: str
    is_maker: bool
    ts_ms: int
    order_price: Decimal | None
    order_qty: Decimal
    leaves_qty: Decimal

    @property
    def value(self) -> Decimal:
        return self.price * self.qty


@dataclass(slots=True)
class Account:
    account_id: str
    free: dict[str, Decimal] = field(default_factory=dict)
    locked: dict[str, Decimal] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    by_link_id: dict[str, str] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    # Indexes over the two above, so reads stay cheap however long the account trades:
    open_orders: dict[str, Order] = field(default_factory=dict)  # the active ones, by order id
    executions_by_symbol: dict[str, list[Execution]] = field(default_factory=dict)

    def add_execution(self, execution: Execution) -> None:
        self.executions.append(execution)
        self.executions_by_symbol.setdefault(execution.symbol, []).append(execution)

    def coins(self) -> list[str]:
        return sorted(set(self.free) | set(self.locked))

    def total(self, coin: str) -> Decimal:
        return self.free.get(coin, ZERO) + self.locked.get(coin, ZERO)

    def credit(self, coin: str, amount: Decimal) -> None:
        self.free[coin] = self.free.get(coin, ZERO) + amount

    def debit(self, coin: str, amount: Decimal) -> None:
        have = self.free.get(coin, ZERO)
        if amount > have:
            raise VenueError(INSUFFICIENT_BALANCE, "Insufficient balance.")
        self.free[coin] = have - amount

    def relock(self, order: Order, coin: str, need: Decimal) -> None:
        """Move funds between free and locked so that `order` holds exactly `need` of `coin`."""
        delta = need - order.locked
        if delta > 0:
            self.debit(coin, delta)
        elif delta < 0:
            self.credit(coin, -delta)
        self.locked[coin] = self.locked.get(coin, ZERO) + delta
        order.locked = need
