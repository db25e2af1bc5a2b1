"""How the sandbox turns a price into a book, fills and fees (all Decimal).

The book is modelled, not recorded: `levels` price levels each side of the mid, the best ones
`spread_bps / 2` away from it and `level_step_bps` apart, each holding `level_notional` quote
(growing by `depth_growth` per level). It is a pure function of the mid price, so it is deterministic.

Fees follow Bybit spot: a fee is charged in the coin the trade delivers — base coin on a buy, quote
coin on a sell — at the maker rate for resting orders and the taker rate for orders that take the book.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal

Level = tuple[Decimal, Decimal]  # (price, base quantity)

ZERO = Decimal(0)
_BPS = Decimal("0.0001")


def quantize(value: Decimal, step: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
    if step <= 0:
        return value
    return (value / step).quantize(Decimal(1), rounding=rounding) * step


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    maker: Decimal = Decimal("0.001")
    taker: Decimal = Decimal("0.001")

    def rate(self, is_maker: bool) -> Decimal:
        return self.maker if is_maker else self.taker


@dataclass(frozen=True, slots=True)
class BookModel:
    spread_bps: Decimal = Decimal("2")
    level_step_bps: Decimal = Decimal("1")
    levels: int = 50
    level_notional: Decimal = Decimal("25000")
    depth_growth: Decimal = Decimal("0.1")

    def sides(
        self, mid: Decimal, tick: Decimal, lot: Decimal, depth: int | None = None
    ) -> tuple[list[Level], list[Level]]:
        """(bids best first, asks best first) around `mid`."""
        n = min(depth or self.levels, self.levels)
        half = self.spread_bps / 2 * _BPS
        bids: list[Level] = []
        asks: list[Level] = []
        for i in range(n):
            off = half + self.level_step_bps * _BPS * i
            qty = quantize(self.level_notional * (1 + self.depth_growth * i) / mid, lot)
            if qty <= 0:
                qty = lot
            bid = quantize(mid * (1 - off), tick, ROUND_DOWN)
            ask = quantize(mid * (1 + off), tick, ROUND_UP)
            if bids and bid >= bids[-1][0]:
                bid = bids[-1][0] - tick
            if asks and ask <= asks[-1][0]:
                ask = asks[-1][0] + tick
            if ask <= mid:
                ask = quantize(mid, tick, ROUND_UP) + (tick if i else ZERO)
            if bid > 0:
                bids.append((bid, qty))
            asks.append((ask, qty))
        return bids, asks


@dataclass(frozen=True, slots=True)
class FillModel:
    """`participation`: the share of the traded volume a resting order can take per path segment (at
    least one lot when anything traded; nothing when the segment traded no volume)."""

    participation: Decimal = Decimal("0.25")

    def maker_fill(self, leaves: Decimal, segment_volume: Decimal, lot: Decimal) -> Decimal:
        if segment_volume <= 0:
            return Decimal(0)
        cap = quantize(segment_volume * self.participation, lot)
        return min(leaves, max(cap, lot))


def walk(
    levels: list[Level],
    lot: Decimal,
    *,
    base_qty: Decimal | None = None,
    quote_budget: Decimal | None = None,
    limit: Decimal | None = None,
    is_buy: bool,
) -> list[Level]:
    """Take liquidity from `levels` (the opposite side, best first) for a base quantity or a quote
    budget, never past `limit`. Quantities are multiples of `lot`; returns the (price, qty) takes."""
    takes: list[Level] = []
    left_base = base_qty
    left_quote = quote_budget
    for price, size in levels:
        if limit is not None and (price > limit if is_buy else price < limit):
            break
        if left_base is not None:
            qty = min(size, left_base)
        elif left_quote is not None:
            qty = min(size, quantize(left_quote / price, lot))
        else:
            raise ValueError("walk needs base_qty or quote_budget")
        qty = quantize(qty, lot)
        if qty <= 0:
            break
        takes.append((price, qty))
        if left_base is not None:
            left_base -= qty
            if left_base <= 0:
                break
        if left_quote is not None:
            left_quote -= price * qty
            if left_quote <= 0:
                break
    return takes
