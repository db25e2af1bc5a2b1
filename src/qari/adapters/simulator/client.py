"""`SimulatedExchangeClient`: `qari.ports.ExchangeClient` straight over an in-process `SimulatedExchange`.

The backtester runs the same engine code as live through this, without HTTP; it advances the venue
itself (`exchange.advance_to(ms)`). Venue errors become the core error tree the live adapter raises.
A read asked again while the venue's `version` is unchanged (nothing moved: no time, no order, no
balance) is answered from the first answer, copied; a backtest's management pass asks the same
questions several times per position and step.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.matching import (
    INSUFFICIENT_BALANCE,
    ORDER_NOT_FOUND,
    Execution,
    Instrument,
    Order,
    VenueError,
)
from qari.adapters.simulator.wire import on_tick
from qari.core.errors import InsufficientFundsError, OrderNotFoundError, OrderRejectedError, QariError
from qari.core.instrument import InstrumentRules
from qari.core.market import OrderBook, Ticker
from qari.core.orders import (
    Balance,
    Fill,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)

T = TypeVar("T")

_STATUS = {
    "New": OrderStatus.OPEN,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Untriggered": OrderStatus.UNTRIGGERED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELED,
    "PartiallyFilledCanceled": OrderStatus.CANCELED,
    "Deactivated": OrderStatus.CANCELED,
    "Rejected": OrderStatus.REJECTED,
}


def _error(e: VenueError) -> QariError:
    if e.code == INSUFFICIENT_BALANCE:
        return InsufficientFundsError(e.message, code=str(e.code))
    if e.code == ORDER_NOT_FOUND:
        return OrderNotFoundError(e.message, code=str(e.code))
    return OrderRejectedError(e.message, code=str(e.code))


def order_report(order: Order) -> OrderReport:
    if order.order_type == "Limit":
        kind = OrderType.LIMIT
    else:
        kind = OrderType.STOP_MARKET if order.trigger_price is not None else OrderType.MARKET
    return OrderReport(
        symbol=order.symbol,
        exchange_order_id=order.order_id,
        client_order_id=order.order_link_id or None,
        side=Side.BUY if order.is_buy else Side.SELL,
        type=kind,
        status=_STATUS[order.status],
        qty_base=order.cum_exec_qty if order.qty_in_quote else order.qty,
        filled_base=order.cum_exec_qty,
        avg_price=order.avg_price if order.cum_exec_qty else None,
        price=order.price,
        trigger_price=order.trigger_price,
        fee=order.cum_exec_fee,
        fee_currency=order.fee_currency or None,
        updated_ms=order.updated_ms,
    )


def fill_record(e: Execution) -> Fill:
    return Fill(
        symbol=e.symbol,
        trade_id=e.exec_id,
        exchange_order_id=e.order_id,
        client_order_id=e.order_link_id or None,
        side=Side.BUY if e.side == "Buy" else Side.SELL,
        price=e.price,
        qty_base=e.qty,
        fee=e.fee,
        fee_currency=e.fee_currency,
        ts_ms=e.ts_ms,
        is_maker=e.is_maker,
    )


class SimulatedExchangeClient:
    exchange_id = "sandbox"

    def __init__(self, exchange: SimulatedExchange, account_id: str) -> None:
        self.exchange = exchange
        self.account_id = account_id
        self._version = -1
        self._answers: dict[Hashable, Any] = {}
        self._rules: dict[str, tuple[Instrument, InstrumentRules]] = {}

    def _read(self, question: Hashable, read: Callable[[], T]) -> T:
        """`read()`, or the answer it gave to the same question at the venue's current version."""
        if self._version != self.exchange.version:
            self._version = self.exchange.version
            self._answers.clear()
        if question in self._answers:
            answer: T = self._answers[question]
            return answer
        answer = self._answers[question] = read()
        return answer

    async def load_markets(self) -> dict[str, InstrumentRules]:
        return {symbol: self._rules_for(inst) for symbol, inst in self.exchange.instruments().items()}

    def _rules_for(self, inst: Instrument) -> InstrumentRules:
        """An instrument's rules, built once per listed instrument (a listing never changes)."""
        known = self._rules.get(inst.symbol)
        if known is not None and known[0] is inst:
            return known[1]
        rules = InstrumentRules(
            symbol=inst.symbol,
            base=inst.base,
            quote=inst.quote,
            tick_size=inst.tick_size,
            lot_size=inst.base_precision,
            min_qty=inst.min_order_qty,
            min_notional=inst.min_order_amt,
            max_qty=inst.max_order_qty,
        )
        self._rules[inst.symbol] = (inst, rules)
        return rules

    async def fetch_balances(self) -> dict[str, Balance]:
        return dict(self._read("balances", self._balances))

    def _balances(self) -> dict[str, Balance]:
        return {
            coin: Balance(coin, free, locked)
            for coin, (free, locked) in self.exchange.balances(self.account_id).items()
        }

    async def fetch_ticker(self, symbol: str) -> Ticker:
        try:
            return self._read(("ticker", symbol), lambda: self._ticker(symbol))
        except VenueError as e:
            raise _error(e) from None

    def _ticker(self, symbol: str) -> Ticker:
        """The last price on the tick, as every sandbox protocol prints it (a backtest reads what a
        sandbox replay reads over HTTP); the best bid and ask are book levels, on the tick already."""
        last, bid, ask, turnover = self.exchange.quote(symbol)
        last = on_tick(last, self.exchange.instrument(symbol).tick_size)
        return Ticker(symbol, last, bid, ask, turnover, self.exchange.now_ms)

    async def fetch_tickers(self) -> dict[str, Ticker]:
        return {symbol: await self.fetch_ticker(symbol) for symbol in self.exchange.instruments()}

    async def fetch_order_book(self, symbol: str, limit: int = 50) -> OrderBook:
        bids, asks = self.exchange.order_book(symbol, limit)
        return OrderBook(symbol, tuple(bids), tuple(asks), self.exchange.now_ms)

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        return self.exchange.klines_float(symbol, timeframe, since_ms, None, limit or 200)

    async def create_order(self, request: OrderRequest) -> OrderReport:
        side = "Buy" if request.side is Side.BUY else "Sell"
        try:
            if request.type is OrderType.LIMIT:
                order = self.exchange.place_order(
                    self.account_id,
                    request.symbol,
                    side,
                    "Limit",
                    request.qty_base,
                    request.price,
                    order_link_id=request.client_order_id,
                )
            else:
                order = self.exchange.place_order(
                    self.account_id,
                    request.symbol,
                    side,
                    "Market",
                    request.qty_base,
                    order_link_id=request.client_order_id,
                    market_unit="baseCoin",
                    order_filter="tpslOrder" if request.type is OrderType.STOP_MARKET else "Order",
                    trigger_price=request.trigger_price,
                )
        except VenueError as e:
            raise _error(e) from None
        return order_report(order)

    async def cancel_order(self, symbol: str, exchange_order_id: str) -> None:
        try:
            self.exchange.cancel_order(self.account_id, order_id=exchange_order_id)
        except VenueError as e:
            raise _error(e) from None

    async def fetch_order_by_client_id(self, symbol: str, client_order_id: str) -> OrderReport | None:
        return self._read(("order", symbol, client_order_id), lambda: self._order(symbol, client_order_id))

    def _order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        order = self.exchange.get_order(self.account_id, order_link_id=client_order_id)
        return order_report(order) if order is not None and order.symbol == symbol else None

    async def fetch_open_orders(
        self, symbol: str | None = None, *, stop_orders: bool = True
    ) -> list[OrderReport]:
        """Every active order, conditional ones included (one list here, so nothing to save)."""
        return list(self._read(("open", symbol), lambda: self._open_orders(symbol)))

    def _open_orders(self, symbol: str | None) -> list[OrderReport]:
        return [order_report(o) for o in self.exchange.orders(self.account_id, symbol, active=True)]

    async def fetch_fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]:
        return list(self._read(("fills", symbol, since_ms), lambda: self._fills(symbol, since_ms)))

    def _fills(self, symbol: str, since_ms: int | None) -> list[Fill]:
        executions = self.exchange.executions(self.account_id, symbol, start_ms=since_ms)
        return [fill_record(e) for e in reversed(executions)]

    async def close(self) -> None:
        return None
