"""`SimulatedExchange`: the in-process spot venue behind the sandbox's HTTP API and the backtester.

No I/O and no clock reads: time moves only through `advance_to(ms)`, so a backtest drives it with a
simulated clock and the HTTP app drives it with its own clock before serving each request.

| call | does |
|---|---|
| `SimulatedExchange(source, start_ms=…, fees=, book=, fills=, symbols=)` | a venue over a `PriceSource` |
| `now_ms` | the venue's current time |
| `version` | changes with every call that may change the venue: an answer read at one version holds |
| `advance_to(ms) -> list[Execution]` | walk each price path to `ms`: triggers, fills resting orders |
| `instruments()` / `instrument(symbol)` | rules (tick, lot, minimums) by unified symbol "BTC/USDT" |
| `symbol_for(venue_id)` | "BTCUSDT" -> "BTC/USDT" |
| `open_account(id, balances)` | a new account, balances {coin: Decimal} |
| `set_balance(id, coin, total)` / `balances(id)` | {coin: (free, locked)} |
| `place_order(id, symbol, side, order_type, qty, price, …)` | -> Order; raises `VenueError` (Bybit codes) |
| `cancel_order(id, order_id=, order_link_id=)` | -> Order; unknown or closed -> 170213 |
| `cancel_all(id, symbol=None)` | -> cancelled orders |
| `get_order(id, order_id=, order_link_id=)` | -> Order or None |
| `orders(id, symbol=None, active=None)` | order records, newest first |
| `executions(id, symbol=None, start_ms=, order_id=)` | fills, newest first |
| `price(s)` / `ticker(s)` / `order_book(s, depth)` | market data at `now_ms` |
| `klines(s, timeframe, start, end, limit)` | candles, oldest first, last one in progress |
| `recent_trades(s, limit)` | public prints of the last hour, newest first |
| `check_invariants()` | AssertionError if a balance is negative or locks disagree with orders |

Sides are "Buy"/"Sell", order types "Limit"/"Market", time in force "GTC"/"IOC"/"FOK"/"PostOnly";
a market buy's `qty` is in quote coin unless `market_unit="baseCoin"` (Bybit spot's rule).
Conditional orders: `order_filter="StopOrder"` (locks nothing until triggered) or `"tpslOrder"` (locks at
once) with `trigger_price`; the direction defaults to "rises to" when the trigger is above the price.

Why one file of ~950 lines: it is one class, the venue's state (listings, accounts, resting and
conditional orders, how far each price path has been walked) behind one `version`; its sections
(instruments, accounts, market data, time, orders, invariants) read and change that same state. What
stands alone is already a module of its own: `matching` (records, error codes), `fill_model`, `prices`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal

import numpy as np

from qari.adapters.simulator.fill_model import BookModel, FeeSchedule, FillModel, Level, quantize, walk
from qari.adapters.simulator.matching import (
    DUPLICATE_LINK_ID,
    INSUFFICIENT_BALANCE,
    ORDER_NOT_FOUND,
    PARAMS,
    PRICE_DECIMALS,
    QTY_DECIMALS,
    QTY_TOO_LARGE,
    QTY_TOO_SMALL,
    UNKNOWN_SYMBOL,
    VALUE_TOO_LARGE,
    VALUE_TOO_SMALL,
    ZERO,
    Account,
    Execution,
    Instrument,
    Order,
    VenueError,
)
from qari.adapters.simulator.prices import (
    DAY_MS,
    MONTH,
    PricePath,
    PriceSource,
    bucket_start,
    timeframe_ms_or_month,
)

_QUOTE_PRECISION = Decimal("0.00000001")
_FIAT_LIKE = {"USDT", "USDC", "USD", "FDUSD", "DAI", "EUR"}
_TIFS = {"GTC", "IOC", "FOK", "PostOnly"}
_FILTERS = {"Order", "StopOrder", "tpslOrder"}


def to_decimal(value: float) -> Decimal:
    return Decimal(f"{value:.10g}")


def venue_float(value: float) -> float:
    """`float(to_decimal(value))` without the Decimal: both read the same 10-digit string, and a
    string becomes the float nearest its value either way."""
    return float(f"{value:.10g}")


@dataclass(frozen=True, slots=True)
class TickerView:
    symbol: str
    last: Decimal
    bid: Decimal
    bid_size: Decimal
    ask: Decimal
    ask_size: Decimal
    prev_24h: Decimal
    high_24h: Decimal
    low_24h: Decimal
    volume_24h: Decimal
    turnover_24h: Decimal


def make_instrument(symbol: str, price: Decimal) -> Instrument:
    """Rules scaled to the price: ~5 significant digits of price, lots worth ~0.1 quote."""
    base, quote = symbol.split("/")
    mag = math.floor(math.log10(float(price)))
    tick = Decimal(1).scaleb(mag - 5)
    lot = Decimal(1).scaleb(math.floor(math.log10(0.1 / float(price))))
    min_qty = quantize(Decimal(1) / price, lot, ROUND_UP) if quote in _FIAT_LIKE else lot
    min_amt = Decimal(5) if quote in _FIAT_LIKE else Decimal("0.0001")
    return Instrument(
        symbol=symbol,
        venue_id=f"{base}{quote}",
        base=base,
        quote=quote,
        tick_size=tick,
        base_precision=lot,
        quote_precision=_QUOTE_PRECISION,
        min_order_qty=max(min_qty, lot),
        max_order_qty=quantize(Decimal(10_000_000) / price, lot),
        min_order_amt=min_amt,
        max_order_amt=Decimal(8_000_000) if quote in _FIAT_LIKE else Decimal(200),
    )


def _multiple(value: Decimal, step: Decimal) -> bool:
    return step <= 0 or value % step == 0


class SimulatedExchange:
    def __init__(
        self,
        source: PriceSource,
        *,
        start_ms: int,
        fees: FeeSchedule | None = None,
        book: BookModel | None = None,
        fills: FillModel | None = None,
        symbols: Iterable[str] | None = None,
        recorded: Mapping[str, Instrument] | None = None,
    ) -> None:
        self.source = source
        self._recorded = dict(recorded or {})  # a venue's real rules by symbol, used where listed
        self.now_ms = start_ms
        self.version = 0  # bumped by every public call that may change state (`advance_to`, orders, balances)
        self._event_ms = start_ms  # the time stamped on fills and updates (a segment's time while walking)
        self.fees = fees or FeeSchedule()
        self.book = book or BookModel()
        self.fills = fills or FillModel()
        self._paths: dict[str, PricePath] = {}
        self._instruments: dict[str, Instrument] = {}
        self._by_venue_id: dict[str, str] = {}
        self._last: dict[str, Decimal] = {}
        self._cursor: dict[str, tuple[int, Decimal]] = {}
        self._active: dict[str, dict[str, Order]] = {}
        self._pending: dict[str, int] = {}  # symbols whose candles start later: listed when they do
        for symbol in symbols if symbols is not None else source.symbols():
            if not self._list(symbol, start_ms):
                first = source.listed_from(symbol)
                if first is not None and first > start_ms:
                    self._pending[symbol] = first
        self._accounts: dict[str, Account] = {}
        self._orders: dict[str, Order] = {}
        self._order_seq = 0
        self._exec_seq = 0
        self._price_cache: dict[str, Decimal] = {}
        # `quote`'s answers at `now_ms`: built from the cached price, its book and the 24 h turnover,
        # all fixed until time moves, so they are cleared with the price cache.
        self._quotes: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {}
        self._closed_rows: dict[tuple[str, str, int], tuple[float, ...]] = {}  # klines_float's, by open
        self._books: dict[tuple[str, Decimal, int], tuple[list[Level], list[Level]]] = {}

    # ----------------------------------------------------------------------------------- instruments
    def _list(self, symbol: str, at_ms: int) -> bool:
        path = PricePath(self.source, symbol)
        p = path.price_at(at_ms)
        if p is None or p <= 0:
            return False
        self._paths[symbol] = path
        inst = self._recorded.get(symbol) or make_instrument(symbol, to_decimal(p))
        self._instruments[symbol] = inst
        self._by_venue_id[inst.venue_id] = symbol
        self._active[symbol] = {}
        return True

    def _list_due(self) -> None:
        due = [s for s, first in self._pending.items() if first <= self.now_ms]
        for symbol in due:
            if self._list(symbol, self.now_ms):
                del self._pending[symbol]

    def instruments(self) -> dict[str, Instrument]:
        return dict(self._instruments)

    def instrument(self, symbol: str) -> Instrument:
        try:
            return self._instruments[symbol]
        except KeyError:
            raise VenueError(PARAMS, UNKNOWN_SYMBOL) from None

    def symbol_for(self, venue_id: str) -> str:
        try:
            return self._by_venue_id[venue_id]
        except KeyError:
            raise VenueError(PARAMS, UNKNOWN_SYMBOL) from None

    # -------------------------------------------------------------------------------------- accounts
    def open_account(self, account_id: str, balances: dict[str, Decimal] | None = None) -> Account:
        self.version += 1
        if account_id in self._accounts:
            raise ValueError(f"account {account_id} exists")
        account = Account(account_id)
        for coin, amount in (balances or {}).items():
            if amount < 0:
                raise ValueError("balances cannot be negative")
            account.free[coin] = amount
        self._accounts[account_id] = account
        return account

    def account(self, account_id: str) -> Account:
        try:
            return self._accounts[account_id]
        except KeyError:
            raise KeyError(f"unknown account {account_id}") from None

    def has_account(self, account_id: str) -> bool:
        return account_id in self._accounts

    def set_balance(self, account_id: str, coin: str, total: Decimal) -> None:
        self.version += 1
        account = self.account(account_id)
        locked = account.locked.get(coin, ZERO)
        if total < locked:
            raise ValueError(f"{coin} total {total} is below the {locked} locked by open orders")
        account.free[coin] = total - locked

    def balances(self, account_id: str) -> dict[str, tuple[Decimal, Decimal]]:
        account = self.account(account_id)
        return {c: (account.free.get(c, ZERO), account.locked.get(c, ZERO)) for c in account.coins()}

    # ---------------------------------------------------------------------------------- market data
    def price(self, symbol: str) -> Decimal:
        cached = self._price_cache.get(symbol)
        if cached is not None:
            return cached
        self.instrument(symbol)
        p = self._paths[symbol].price_at(self.now_ms)
        value = to_decimal(p) if p is not None and p > 0 else self._last.get(symbol, ZERO)
        self._last[symbol] = value
        self._price_cache[symbol] = value
        return value

    def _sides(
        self, symbol: str, mid: Decimal | None = None, depth: int | None = None
    ) -> tuple[list[Level], list[Level]]:
        """The modelled book around `mid` (default: the price now), cached per (symbol, mid, depth).

        Each level depends only on the ones before it, so a shallow book (a ticker's best bid and
        ask) is the exact prefix of the full one and is computed on its own."""
        inst = self.instrument(symbol)
        mid = mid or self.price(symbol)
        n = self.book.levels if depth is None else min(depth, self.book.levels)
        if n <= 0:
            return [], []
        key = (symbol, mid, n)
        sides = self._books.get(key)
        if sides is None:
            if len(self._books) > 512:
                self._books.clear()
            sides = self.book.sides(mid, inst.tick_size, inst.base_precision, n)
            self._books[key] = sides
        return sides

    def order_book(self, symbol: str, depth: int = 50) -> tuple[list[Level], list[Level]]:
        return self._sides(symbol, depth=depth)

    def _turnover_24h(self, symbol: str) -> Decimal:
        """Traded quote value of the base candles of the 24 hours before now that have closed."""
        path = self._paths[symbol]
        return to_decimal(path.turnover(self.now_ms - DAY_MS, self.now_ms - path.step_ms + 1))

    def quote(self, symbol: str) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """(last, best bid, best ask, 24 h turnover): `ticker`'s fields a trading client reads, with the
        same values, without the 24 h high, low, volume and previous price. Computed once per symbol
        and `now_ms` (the engine reads it for every open position on every cycle)."""
        cached = self._quotes.get(symbol)
        if cached is not None:
            return cached
        last = self.price(symbol)
        bids, asks = self._sides(symbol, depth=1)
        answer = last, bids[0][0] if bids else ZERO, asks[0][0], self._turnover_24h(symbol)
        self._quotes[symbol] = answer
        return answer

    def ticker(self, symbol: str) -> TickerView:
        last = self.price(symbol)
        bids, asks = self._sides(symbol, depth=1)
        path = self._paths[symbol]
        candles = self.source.base_candles(symbol, self.now_ms - DAY_MS, self.now_ms - path.step_ms + 1)
        prev = path.price_at(self.now_ms - DAY_MS)
        high, low, volume = last, last, 0.0
        if len(candles):
            high = max(high, to_decimal(float(candles.high.max())))
            low = min(low, to_decimal(float(candles.low.min())))
            volume = float(candles.volume.sum())
        return TickerView(
            symbol=symbol,
            last=last,
            bid=bids[0][0] if bids else ZERO,
            bid_size=bids[0][1] if bids else ZERO,
            ask=asks[0][0],
            ask_size=asks[0][1],
            prev_24h=to_decimal(prev) if prev else last,
            high_24h=high,
            low_24h=low,
            volume_24h=to_decimal(volume),
            turnover_24h=self._turnover_24h(symbol),
        )

    def recent_trades(self, symbol: str, limit: int) -> list[tuple[int, Decimal, Decimal, str]]:
        """Public prints (time, price, base size, taker side), newest first: one per path point of the
        last hour, sized at 1 % of the volume traded since the previous point."""
        inst = self.instrument(symbol)
        path = self._paths[symbol]
        times, prices, vols = path.points(self.now_ms - 3_600_000, self.now_ms)
        out: list[tuple[int, Decimal, Decimal, str]] = []
        previous = None
        for t, p, v in zip(times.tolist(), prices.tolist(), vols.tolist(), strict=True):
            size = max(quantize(to_decimal(v / 100), inst.base_precision), inst.base_precision)
            side = "Sell" if previous is not None and p < previous else "Buy"
            out.append((t, to_decimal(p), size, side))
            previous = p
        return out[::-1][:limit]

    def klines(
        self, symbol: str, timeframe: str, start_ms: int | None, end_ms: int | None, limit: int
    ) -> list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]]:
        """Candles oldest first, as Bybit selects them: from the bucket holding `start_ms` forward, else
        the latest up to `end_ms`; a candle still in progress is built only from the path up to now."""
        return [
            (
                t,
                to_decimal(o),
                to_decimal(h),
                to_decimal(lo_),
                to_decimal(c),
                to_decimal(v),
                to_decimal(v * c),
            )
            for t, o, h, lo_, c, v in self._kline_rows(symbol, timeframe, start_ms, end_ms, limit)
        ]

    def klines_float(
        self, symbol: str, timeframe: str, start_ms: int | None, end_ms: int | None, limit: int
    ) -> list[list[float]]:
        """`klines` as `[ms, open, high, low, close, volume]` floats, each exactly `float()` of the
        Decimal `klines` gives (`venue_float`), without building the Decimals (in-process clients).

        A closed candle never changes, so its row is rounded once (all rows but the last are closed)."""
        rows = self._kline_rows(symbol, timeframe, start_ms, end_ms, limit)
        if len(self._closed_rows) > 200_000:
            self._closed_rows.clear()
        out: list[list[float]] = []
        for n, (t, o, h, lo_, c, v) in enumerate(rows, start=1):
            closed = n < len(rows) or _bucket_end(t, timeframe) <= self.now_ms
            row = self._closed_rows.get((symbol, timeframe, t)) if closed else None
            if row is None:
                row = (
                    float(t),
                    venue_float(o),
                    venue_float(h),
                    venue_float(lo_),
                    venue_float(c),
                    venue_float(v),
                )
                if closed:
                    self._closed_rows[(symbol, timeframe, t)] = row
            out.append(list(row))
        return out

    def _kline_rows(
        self, symbol: str, timeframe: str, start_ms: int | None, end_ms: int | None, limit: int
    ) -> list[tuple[int, float, float, float, float, float]]:
        self.instrument(symbol)
        step = timeframe_ms_or_month(timeframe)
        end = min(end_ms if end_ms is not None else self.now_ms, self.now_ms)
        if start_ms is not None:
            lo = int(bucket_start(np.asarray([start_ms], dtype=np.int64), timeframe)[0])
            series = self.source.candles(symbol, timeframe, lo, min(end, lo + step * (limit + 1)) + 1)
            first, stop = 0, min(limit, len(series))
        else:
            series = self.source.candles(symbol, timeframe, end - step * (limit + 1), end + 1)
            first, stop = max(0, len(series) - limit), len(series)
        rows: list[tuple[int, float, float, float, float, float]] = list(
            zip(
                series.ts[first:stop].tolist(),
                series.open[first:stop].tolist(),
                series.high[first:stop].tolist(),
                series.low[first:stop].tolist(),
                series.close[first:stop].tolist(),
                series.volume[first:stop].tolist(),
                strict=True,
            )
        )
        if rows and _bucket_end(rows[-1][0], timeframe) > self.now_ms:
            partial = self._partial(symbol, rows[-1][0], self.now_ms)
            rows = rows[:-1] + ([partial] if partial else [])
        return rows

    def _partial(
        self, symbol: str, open_ms: int, now: int
    ) -> tuple[int, float, float, float, float, float] | None:
        path = self._paths[symbol]
        closed = self.source.base_candles(symbol, open_ms, now - path.step_ms + 1)
        _, prices, vols = path.points(max(open_ms, now - path.step_ms), now)
        current = path.price_at(now)
        if current is None:
            return None
        highs = [current, *prices.tolist()]
        lows = list(highs)
        volume = float(vols.sum())
        if len(closed):
            highs.append(float(closed.high.max()))
            lows.append(float(closed.low.min()))
            volume += float(closed.volume.sum())
            first_open = float(closed.open[0])
        else:
            first_open = path.price_at(open_ms) or current
        return (open_ms, first_open, max(highs), min(lows), current, volume)

    # ------------------------------------------------------------------------------------------ time
    def advance_to(self, ms: int) -> list[Execution]:
        self.version += 1
        if ms < self.now_ms:
            raise ValueError(f"time moves forward only ({ms} < {self.now_ms})")
        if ms == self.now_ms:
            return []
        executions: list[Execution] = []
        for symbol, active in self._active.items():
            if active:
                executions.extend(self._walk(symbol, ms))
            else:
                self._cursor.pop(symbol, None)
        self.now_ms = ms
        self._event_ms = ms
        self._price_cache.clear()
        self._quotes.clear()
        if self._pending:
            self._list_due()
        return executions

    def _walk(self, symbol: str, end: int) -> list[Execution]:
        path = self._paths[symbol]
        quarter = max(path.step_ms // 4, 1)
        t0, p0 = self._cursor.get(symbol) or (self.now_ms, self.price(symbol))
        bounds = path.range_until(t0, end)
        if bounds is not None:
            lo, hi, p_last = bounds
            if not _could_hit(self._active[symbol].values(), min(lo, float(p0)), max(hi, float(p0))):
                self._cursor[symbol] = (end, to_decimal(p_last))
                return []
        times, prices, vols = path.points(t0, end)
        last_t = int(times[-1]) if len(times) else t0
        p_end = path.price_at(end) if last_t < end else None
        out: list[Execution] = []
        for t, p, v in zip(times.tolist(), prices.tolist(), vols.tolist(), strict=True):
            share = min(1.0, (t - t0) / quarter)
            price = to_decimal(p)
            out.extend(self._segment(symbol, p0, price, to_decimal(v * share), t))
            t0, p0 = t, price
        if p_end is not None:
            nxt_t, _nxt_p, nxt_v = path.points(end, end + quarter)
            vol = float(nxt_v[0]) * (end - t0) / quarter if len(nxt_t) else 0.0
            price = to_decimal(p_end)
            out.extend(self._segment(symbol, p0, price, to_decimal(vol), end))
            t0, p0 = end, price
        self._cursor[symbol] = (t0, p0)
        return out

    def _segment(self, symbol: str, p0: Decimal, p1: Decimal, volume: Decimal, ts: int) -> list[Execution]:
        """Price moves p0 -> p1: triggers fire and resting limits fill in the order the path reaches
        their prices (ties: older orders first)."""
        lo, hi = min(p0, p1), max(p0, p1)
        rising = p1 >= p0
        events: list[tuple[Decimal, int, str, Order]] = []
        for order in self._active[symbol].values():
            if order.status == "Untriggered" and order.trigger_price is not None:
                level = order.trigger_price
                hit = hi >= level if order.trigger_direction == 1 else lo <= level
            elif order.order_type == "Limit" and order.price is not None:
                level = order.price
                hit = lo <= level if order.is_buy else hi >= level
            else:
                continue
            if hit:
                distance = max(level - p0 if rising else p0 - level, ZERO)
                events.append((distance, order.created_ms, order.order_id, order))
        out: list[Execution] = []
        lot = self.instrument(symbol).base_precision
        self._event_ms = ts
        for _, _, _, order in sorted(events, key=lambda e: e[:3]):
            if not order.active:
                continue
            if order.status == "Untriggered":
                out.extend(self._trigger(order, ts))
            elif order.leaves_qty > 0 and order.price is not None:
                qty = self.fills.maker_fill(order.leaves_qty, volume, lot)
                if qty > 0:
                    out.append(self._fill(order, order.price, qty, True, ts))
        return out

    # ---------------------------------------------------------------------------------------- orders
    def place_order(
        self,
        account_id: str,
        symbol: str,
        side: str,
        order_type: str,
        qty: Decimal,
        price: Decimal | None = None,
        *,
        time_in_force: str = "GTC",
        order_link_id: str = "",
        market_unit: str | None = None,
        order_filter: str = "Order",
        trigger_price: Decimal | None = None,
        trigger_direction: int = 0,
        reuse_closed_link_ids: bool = False,
    ) -> Order:
        self.version += 1
        account = self.account(account_id)
        inst = self.instrument(symbol)
        market_unit = self._validate(
            account,
            inst,
            side,
            order_type,
            qty,
            price,
            time_in_force,
            order_link_id,
            market_unit,
            reuse_closed_link_ids,
        )
        if order_filter not in _FILTERS:
            raise VenueError(PARAMS, "params error: orderFilter invalid")
        conditional = order_filter != "Order"
        if conditional:
            if trigger_price is None or trigger_price <= 0:
                raise VenueError(PARAMS, "params error: triggerPrice is required for a conditional order")
            if not _multiple(trigger_price, inst.tick_size):
                raise VenueError(PRICE_DECIMALS, "Trigger price has too many decimals.")
        reference = price if order_type == "Limit" else (trigger_price if conditional else self.price(symbol))
        assert reference is not None
        self._check_size(inst, qty, market_unit == "quoteCoin" and order_type == "Market", reference)

        self._order_seq += 1
        order = Order(
            order_id=str(1_900_000_000_000_000_000 + self._order_seq),
            account_id=account_id,
            symbol=symbol,
            side=side,
            order_type=order_type,
            qty=qty,
            price=price if order_type == "Limit" else None,
            time_in_force=time_in_force if order_type == "Limit" else "IOC",
            order_link_id=order_link_id,
            created_ms=self.now_ms,
            updated_ms=self.now_ms,
            market_unit=market_unit,
            order_filter=order_filter,
            trigger_price=trigger_price if conditional else None,
            fee_currency=inst.base if side == "Buy" else inst.quote,
        )
        if conditional:
            order.status = "Untriggered"
            last = self.price(symbol)
            order.trigger_direction = trigger_direction or (1 if order.trigger_price > last else 2)  # type: ignore[operator]
            coin, need = self._need(order)
            if need > account.free.get(coin, ZERO):
                raise VenueError(INSUFFICIENT_BALANCE, "Insufficient balance.")
            self._register(account, order)
            account.relock(order, coin, need)
            return order
        if order_type == "Market":
            self._execute_market(account, order, self.price(symbol), reject_by_raising=True)
            self._register(account, order)
            return order
        self._place_limit(account, order, self.price(symbol), at_placement=True)
        return order

    def _validate(
        self,
        account: Account,
        inst: Instrument,
        side: str,
        order_type: str,
        qty: Decimal,
        price: Decimal | None,
        time_in_force: str,
        order_link_id: str,
        market_unit: str | None,
        reuse_closed_link_ids: bool = False,
    ) -> str:
        """Bybit's parameter checks; returns the effective market unit. A client id names one order
        for ever on Bybit; `reuse_closed_link_ids` frees it once its order is closed (Binance's rule)."""
        if side not in ("Buy", "Sell"):
            raise VenueError(PARAMS, "params error: side invalid")
        if order_type not in ("Limit", "Market"):
            raise VenueError(PARAMS, "params error: orderType invalid")
        if time_in_force not in _TIFS:
            raise VenueError(PARAMS, "params error: timeInForce invalid")
        if qty <= 0:
            raise VenueError(PARAMS, "params error: qty must be positive")
        if len(order_link_id) > 36:
            raise VenueError(PARAMS, "params error: orderLinkId is longer than 36 characters")
        if order_link_id and order_link_id in account.by_link_id:
            holder = account.orders[account.by_link_id[order_link_id]]
            if holder.active or not reuse_closed_link_ids:
                raise VenueError(DUPLICATE_LINK_ID, "Duplicate clientOrderId.")
        if order_type == "Limit":
            if price is None or price <= 0:
                raise VenueError(PARAMS, "params error: price is required for a limit order")
            if not _multiple(price, inst.tick_size):
                raise VenueError(PRICE_DECIMALS, "Order price has too many decimals.")
            return "baseCoin"
        if market_unit is None:
            return "quoteCoin" if side == "Buy" else "baseCoin"
        if market_unit not in ("baseCoin", "quoteCoin"):
            raise VenueError(PARAMS, "params error: marketUnit invalid")
        return market_unit

    def _check_size(self, inst: Instrument, qty: Decimal, in_quote: bool, reference: Decimal) -> None:
        if in_quote:
            if not _multiple(qty, inst.quote_precision):
                raise VenueError(QTY_DECIMALS, "Order quantity has too many decimals.")
            value = qty
        else:
            if not _multiple(qty, inst.base_precision):
                raise VenueError(QTY_DECIMALS, "Order quantity has too many decimals.")
            if qty < inst.min_order_qty:
                raise VenueError(QTY_TOO_SMALL, "Order quantity is lower than the minimum.")
            if qty > inst.max_order_qty:
                raise VenueError(QTY_TOO_LARGE, "Order quantity exceeded the upper limit.")
            value = qty * reference
        if value < inst.min_order_amt:
            raise VenueError(VALUE_TOO_SMALL, "Order value is lower than the minimum.")
        if value > inst.max_order_amt:
            raise VenueError(VALUE_TOO_LARGE, "Order value exceeded the upper limit.")

    def _register(self, account: Account, order: Order) -> None:
        self._orders[order.order_id] = order
        account.orders[order.order_id] = order
        if order.order_link_id:
            account.by_link_id[order.order_link_id] = order.order_id
        if order.active:
            self._active[order.symbol][order.order_id] = order
            account.open_orders[order.order_id] = order

    def _need(self, order: Order) -> tuple[str, Decimal]:
        inst = self._instruments[order.symbol]
        coin = inst.quote if order.is_buy else inst.base
        if not order.active or (order.status == "Untriggered" and order.order_filter != "tpslOrder"):
            return coin, ZERO
        if order.order_type == "Market" and order.status != "Untriggered":
            return coin, ZERO
        if order.order_type == "Limit":
            leaves = order.qty - order.cum_exec_qty
            assert order.price is not None
            return coin, order.price * leaves if order.is_buy else leaves
        trigger = order.trigger_price or self.price(order.symbol)
        if order.is_buy:
            return coin, order.qty if order.qty_in_quote else quantize(
                order.qty * trigger, _QUOTE_PRECISION, ROUND_UP
            )
        return coin, quantize(
            order.qty / trigger, inst.base_precision, ROUND_UP
        ) if order.qty_in_quote else order.qty

    def _place_limit(
        self, account: Account, order: Order, mid: Decimal, *, at_placement: bool
    ) -> list[Execution]:
        bids, asks = self._sides(order.symbol, mid)
        inst = self._instruments[order.symbol]
        assert order.price is not None
        opposite = asks if order.is_buy else bids
        crosses = bool(opposite) and (
            opposite[0][0] <= order.price if order.is_buy else opposite[0][0] >= order.price
        )
        coin, need = self._need(order)
        if need > account.free.get(coin, ZERO) + order.locked:
            if at_placement:
                raise VenueError(INSUFFICIENT_BALANCE, "Insufficient balance.")
            self._close(order, "Rejected", "EC_InsufficientBalance")
            return []
        if at_placement:
            self._register(account, order)
        if order.time_in_force == "PostOnly" and crosses:
            self._close(order, "Cancelled", "EC_PostOnlyWillTakeLiquidity")
            return []
        takes = walk(
            opposite, inst.base_precision, base_qty=order.qty, limit=order.price, is_buy=order.is_buy
        )
        if order.time_in_force == "FOK" and sum((q for _, q in takes), ZERO) < order.qty:
            self._close(order, "Cancelled", "EC_FOKOrderCanNotBeFilled")
            return []
        account.relock(order, coin, need)
        out = [self._fill(order, p, q, False, self._event_ms) for p, q in takes]
        if order.active and order.time_in_force in ("IOC", "FOK"):
            self._close(order, "PartiallyFilledCanceled" if order.cum_exec_qty else "Cancelled", "EC_NoError")
        return out

    def _execute_market(
        self, account: Account, order: Order, mid: Decimal, *, reject_by_raising: bool
    ) -> list[Execution]:
        inst = self._instruments[order.symbol]
        bids, asks = self._sides(order.symbol, mid)
        lot = inst.base_precision
        if order.is_buy:
            if order.qty_in_quote:
                takes = walk(asks, lot, quote_budget=order.qty, is_buy=True)
                cost = order.qty
            else:
                takes = walk(asks, lot, base_qty=order.qty, is_buy=True)
                cost = sum((p * q for p, q in takes), ZERO)
            short = cost > account.free.get(inst.quote, ZERO)
        else:
            if order.qty_in_quote:
                takes = walk(bids, lot, quote_budget=order.qty, is_buy=False)
                base = sum((q for _, q in takes), ZERO)
            else:
                takes = walk(bids, lot, base_qty=order.qty, is_buy=False)
                base = order.qty
            short = base > account.free.get(inst.base, ZERO)
        if short:
            if reject_by_raising:
                raise VenueError(INSUFFICIENT_BALANCE, "Insufficient balance.")
            self._close(order, "Rejected", "EC_InsufficientBalance")
            return []
        if not takes:
            if reject_by_raising:
                raise VenueError(VALUE_TOO_SMALL, "Order value is lower than the minimum.")
            self._close(order, "Cancelled", "EC_NoImmediateQtyToFill")
            return []
        out = [self._fill(order, p, q, False, self._event_ms) for p, q in takes]
        if order.qty_in_quote:
            left = order.qty - order.cum_exec_value
            done = left < asks[0][0] * lot if asks else True
        else:
            done = order.cum_exec_qty >= order.qty
        self._close(order, "Filled" if done else "PartiallyFilledCanceled", "EC_NoError")
        return out

    def _trigger(self, order: Order, ts: int) -> list[Execution]:
        account = self._accounts[order.account_id]
        assert order.trigger_price is not None
        coin, _ = self._need(order)
        account.relock(order, coin, ZERO)
        order.status = "New"
        order.updated_ms = ts
        if order.order_type == "Market":
            return self._execute_market(account, order, order.trigger_price, reject_by_raising=False)
        return self._place_limit(account, order, order.trigger_price, at_placement=False)

    def _fill(self, order: Order, price: Decimal, qty: Decimal, is_maker: bool, ts: int) -> Execution:
        account = self._accounts[order.account_id]
        inst = self._instruments[order.symbol]
        coin, _ = self._need(order)
        account.relock(order, coin, ZERO)
        rate = self.fees.rate(is_maker)
        value = price * qty
        if order.is_buy:
            fee = qty * rate
            account.debit(inst.quote, value)
            account.credit(inst.base, qty - fee)
            fee_coin = inst.base
        else:
            fee = value * rate
            account.debit(inst.base, qty)
            account.credit(inst.quote, value - fee)
            fee_coin = inst.quote
        order.cum_exec_qty += qty
        order.cum_exec_value += value
        order.cum_exec_fee += fee
        order.fee_currency = fee_coin
        order.updated_ms = ts
        if order.order_type == "Limit":
            order.status = "Filled" if order.cum_exec_qty >= order.qty else "PartiallyFilled"
            if order.status == "Filled":
                self._active[order.symbol].pop(order.order_id, None)
                account.open_orders.pop(order.order_id, None)
        _, need = self._need(order)
        account.relock(order, coin, need)
        self._exec_seq += 1
        execution = Execution(
            exec_id=str(2_100_000_000_000_000_000 + self._exec_seq),
            order_id=order.order_id,
            order_link_id=order.order_link_id,
            account_id=order.account_id,
            symbol=order.symbol,
            side=order.side,
            order_type=order.order_type,
            price=price,
            qty=qty,
            fee=fee,
            fee_rate=rate,
            fee_currency=fee_coin,
            is_maker=is_maker,
            ts_ms=ts,
            order_price=order.price,
            order_qty=order.qty,
            leaves_qty=order.leaves_qty,
        )
        account.add_execution(execution)
        return execution

    def _close(self, order: Order, status: str, reason: str) -> None:
        account = self._accounts[order.account_id]
        coin, _ = self._need(order)
        account.relock(order, coin, ZERO)
        order.status = status
        order.reject_reason = reason
        order.updated_ms = self._event_ms
        self._active[order.symbol].pop(order.order_id, None)
        account.open_orders.pop(order.order_id, None)

    def _find(self, account_id: str, order_id: str | None, order_link_id: str | None) -> Order | None:
        account = self.account(account_id)
        if order_id:
            return account.orders.get(order_id)
        if order_link_id:
            found = account.by_link_id.get(order_link_id)
            return account.orders.get(found) if found else None
        raise VenueError(PARAMS, "params error: orderId or orderLinkId is required")

    def get_order(
        self, account_id: str, *, order_id: str | None = None, order_link_id: str | None = None
    ) -> Order | None:
        return self._find(account_id, order_id, order_link_id)

    def cancel_order(
        self, account_id: str, *, order_id: str | None = None, order_link_id: str | None = None
    ) -> Order:
        self.version += 1
        order = self._find(account_id, order_id, order_link_id)
        if order is None or not order.active:
            raise VenueError(ORDER_NOT_FOUND, "Order does not exist.")
        self._cancel(order)
        return order

    def _cancel(self, order: Order) -> None:
        if order.status == "Untriggered":
            self._close(order, "Deactivated", "EC_NoError")
        else:
            self._close(order, "PartiallyFilledCanceled" if order.cum_exec_qty else "Cancelled", "EC_NoError")

    def cancel_all(
        self, account_id: str, symbol: str | None = None, order_filter: str | None = None
    ) -> list[Order]:
        self.version += 1
        cancelled = [
            o
            for o in self.orders(account_id, symbol, active=True)
            if order_filter is None or o.order_filter == order_filter
        ]
        for order in cancelled:
            self._cancel(order)
        return cancelled

    def orders(
        self, account_id: str, symbol: str | None = None, *, active: bool | None = None
    ) -> list[Order]:
        account = self.account(account_id)
        pool = account.open_orders if active else account.orders
        found = [
            o
            for o in pool.values()
            if (symbol is None or o.symbol == symbol) and (active is None or o.active == active)
        ]
        return sorted(found, key=lambda o: (o.created_ms, o.order_id), reverse=True)

    def executions(
        self,
        account_id: str,
        symbol: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        order_id: str | None = None,
    ) -> list[Execution]:
        account = self.account(account_id)
        pool = account.executions if symbol is None else account.executions_by_symbol.get(symbol, [])
        found = [
            e
            for e in pool
            if (symbol is None or e.symbol == symbol)
            and (start_ms is None or e.ts_ms >= start_ms)
            and (end_ms is None or e.ts_ms <= end_ms)
            and (order_id is None or e.order_id == order_id)
        ]
        return sorted(found, key=lambda e: (e.ts_ms, e.exec_id), reverse=True)

    # ------------------------------------------------------------------------------------ invariants
    def check_invariants(self) -> None:
        active_everywhere: dict[str, Order] = {}
        for active in self._active.values():
            active_everywhere.update(active)
        for account in self._accounts.values():
            open_orders = {i: o for i, o in account.orders.items() if o.active}
            assert account.open_orders == open_orders, "the open-order index disagrees with the orders"
            resting = all(active_everywhere.get(i) is o for i, o in open_orders.items())
            assert resting, "an active order is missing from its symbol's book"
            by_symbol = [e for s in account.executions_by_symbol.values() for e in s]
            assert sorted(by_symbol, key=id) == sorted(account.executions, key=id), "execution index mismatch"
            per_coin: dict[str, Decimal] = {}
            for order in account.orders.values():
                coin, need = self._need(order)
                assert order.locked == need, f"order {order.order_id} locks {order.locked}, needs {need}"
                per_coin[coin] = per_coin.get(coin, ZERO) + order.locked
            for coin in account.coins():
                assert account.free.get(coin, ZERO) >= 0, f"{coin} free is negative"
                assert account.locked.get(coin, ZERO) == per_coin.get(coin, ZERO), f"{coin} lock mismatch"


def _could_hit(orders: Iterable[Order], lo: float, hi: float) -> bool:
    """Whether a price range [lo, hi] may reach any order's limit or trigger (a cheap float pre-check,
    with a margin, before the exact Decimal walk)."""
    lo, hi = lo * (1 - 1e-9), hi * (1 + 1e-9)
    for order in orders:
        if order.status == "Untriggered" and order.trigger_price is not None:
            level = float(order.trigger_price)
            if (hi >= level) if order.trigger_direction == 1 else (lo <= level):
                return True
        elif order.order_type == "Limit" and order.price is not None:
            level = float(order.price)
            if (lo <= level) if order.is_buy else (hi >= level):
                return True
    return False


def _bucket_end(open_ms: int, timeframe: str) -> int:
    if timeframe == MONTH:
        month = np.datetime64(int(open_ms), "ms").astype("datetime64[M]") + 1
        return int(month.astype("datetime64[ms]").astype(np.int64))
    return open_ms + timeframe_ms_or_month(timeframe)


__all__ = [
    "Execution",
    "Instrument",
    "Order",
    "SimulatedExchange",
    "TickerView",
    "VenueError",
    "bucket_start",
]
