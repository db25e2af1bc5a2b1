"""Blast-radius guard (issue 16): the last policy an order meets before it is signed and sent.

A stolen trade-only key loses money through pumps of illiquid pairs (Binance/VIA 2018, 3Commas 2022):
buys at any price, in any size, in thin books. This policy bounds what a buy may do, whoever asked for
it (the engine included); it is pure (facts in, verdict out) so it can move into the isolated signer
unchanged. It fails closed for new buys: a missing fact refuses. A sell is never refused: on spot a sell
can only reduce what the account holds, so exits and protective stops always go through.

Limits are data: per-order and per-day notional caps from the user's plan (a user may lower them, never
raise them), a liquidity floor (24 h quote turnover, book depth within ±2 %), and a price band (a buy
priced more than N % above the venue's last price — the pump signature — is refused).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from qari.core.errors import RejectedError
from qari.core.market import OrderBook
from qari.core.orders import Side

QUOTE = "USDT"
# The plan's largest allocation per order, in USDT; the daily cap is DAY_CAP_MULTIPLE times it.
PLAN_ORDER_CAP_USDT: dict[str, Decimal] = {
    "trial": Decimal(2_500),
    "pro": Decimal(10_000),
    "premium": Decimal(25_000),
}
DAY_CAP_MULTIPLE = Decimal(10)
PRICE_BAND_PCT = Decimal(5)
DEPTH_BAND_PCT = Decimal(2)
MIN_TURNOVER_24H_USDT = Decimal(1_000_000)
MIN_DEPTH_USDT = Decimal(50_000)  # on each side of the book within ±DEPTH_BAND_PCT of the mid
ANOMALY_MIN_USERS = 2  # distinct keys buying one symbol outside the engine before the symbol halts


@dataclass(frozen=True, slots=True)
class GuardLimits:
    per_order_usdt: Decimal
    per_day_usdt: Decimal
    price_band_pct: Decimal = PRICE_BAND_PCT
    depth_band_pct: Decimal = DEPTH_BAND_PCT
    min_turnover_24h_usdt: Decimal = MIN_TURNOVER_24H_USDT
    min_depth_usdt: Decimal = MIN_DEPTH_USDT

    @staticmethod
    def for_plan(
        tier: str, *, per_order_usdt: Decimal | None = None, per_day_usdt: Decimal | None = None
    ) -> GuardLimits:
        """The plan's caps, or the user's where lower (a user cannot raise them). An unknown tier gets
        the smallest plan's caps."""
        plan_order = PLAN_ORDER_CAP_USDT.get(tier, min(PLAN_ORDER_CAP_USDT.values()))
        plan_day = plan_order * DAY_CAP_MULTIPLE

        def lower(user: Decimal | None, plan: Decimal) -> Decimal:
            return plan if user is None or user <= 0 else min(user, plan)

        return GuardLimits(lower(per_order_usdt, plan_order), lower(per_day_usdt, plan_day))


@dataclass(frozen=True, slots=True)
class GuardOrder:
    """What the signer sees of an order: no position, no strategy, just the request."""

    user_id: int
    exchange_id: str
    symbol: str
    side: Side
    qty_base: Decimal
    price: Decimal | None = None  # a limit buy's price; None for a market order


@dataclass(frozen=True, slots=True)
class MarketFacts:
    """The venue's view of the symbol as read right before the send (None: could not be read)."""

    last: Decimal | None
    quote_volume_24h: Decimal | None
    bid_depth_quote: Decimal | None  # quote value resting within the band below the mid
    ask_depth_quote: Decimal | None  # and above it


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    allowed: bool
    code: str  # "exit", "ok", or the refusing rule
    reason: str


def is_spot_usdt(symbol: str) -> bool:
    """A spot pair quoted in USDT (`BASE/USDT`); ccxt spells derivatives `BASE/USDT:SETTLE`."""
    base, _, quote = symbol.partition("/")
    return bool(base) and quote == QUOTE


def book_depth(book: OrderBook, band_pct: Decimal = DEPTH_BAND_PCT) -> tuple[Decimal, Decimal] | None:
    """(bid, ask) quote value within ±`band_pct` of the mid; None for a one-sided or empty book."""
    if not book.bids or not book.asks:
        return None
    mid = (book.bids[0][0] + book.asks[0][0]) / 2
    low, high = mid * (1 - band_pct / 100), mid * (1 + band_pct / 100)
    bids = sum((p * q for p, q in book.bids if p >= low), Decimal(0))
    asks = sum((p * q for p, q in book.asks if p <= high), Decimal(0))
    return bids, asks


@dataclass(frozen=True, slots=True)
class SentBuy:
    """A buy already sent today, as the journal has it."""

    qty_base: Decimal
    price: Decimal | None
    filled_base: Decimal
    avg_price: Decimal | None
    done: bool  # no longer live on the venue: only its fills count


def spent_today(buys: Iterable[SentBuy]) -> Decimal:
    """The day's buy notional against the daily cap: what filled of finished orders, and the whole of
    live or unresolved ones (they may still fill)."""
    total = Decimal(0)
    for b in buys:
        if b.done:
            total += b.filled_base * (b.avg_price or b.price or Decimal(0))
        else:
            total += max(b.qty_base, b.filled_base) * (b.price or b.avg_price or Decimal(0))
    return total


def _refuse(code: str, reason: str) -> GuardVerdict:
    return GuardVerdict(False, code, reason)


def evaluate_guard(
    order: GuardOrder,
    market: MarketFacts | None,
    limits: GuardLimits,
    *,
    spent_today_usdt: Decimal,
    halted: str | None = None,
) -> GuardVerdict:
    """Admit or refuse one order. `spent_today_usdt`: the user's buy notional sent this UTC day;
    `halted`: why the key or symbol is halted, if it is."""
    if order.side is Side.SELL:
        return GuardVerdict(True, "exit", "a sell only reduces a holding: exits and stops always pass")
    if halted is not None:
        return _refuse("halted", halted)
    if not is_spot_usdt(order.symbol):
        return _refuse("market", f"{order.symbol} is not a spot pair quoted in {QUOTE}")
    if market is None or market.last is None or market.last <= 0:
        return _refuse("no_facts", "the venue's price could not be read: new buys fail closed")
    if order.price is not None and order.price > market.last * (1 + limits.price_band_pct / 100):
        return _refuse(
            "price_band",
            f"buy at {order.price} is more than {limits.price_band_pct} % above the last price {market.last}",
        )
    notional = order.qty_base * max(order.price or market.last, market.last)
    if notional > limits.per_order_usdt:
        cap = limits.per_order_usdt
        return _refuse("order_cap", f"{notional:.2f} {QUOTE} is above the per-order cap {cap}")
    if spent_today_usdt + notional > limits.per_day_usdt:
        return _refuse(
            "day_cap",
            f"{spent_today_usdt + notional:.2f} {QUOTE} today would pass the daily cap {limits.per_day_usdt}",
        )
    turnover = market.quote_volume_24h
    if turnover is None or turnover < limits.min_turnover_24h_usdt:
        return _refuse(
            "thin_turnover",
            f"24 h turnover {turnover} is below the floor {limits.min_turnover_24h_usdt} {QUOTE}",
        )
    depth = min(market.bid_depth_quote or Decimal(0), market.ask_depth_quote or Decimal(0))
    if depth < limits.min_depth_usdt:
        return _refuse(
            "thin_book",
            f"book depth within ±{limits.depth_band_pct} % is {depth:.2f} {QUOTE}, "
            f"below {limits.min_depth_usdt}",
        )
    return GuardVerdict(True, "ok", "within the guard's limits")


# ------------------------------------------------------------------ anomaly halt


@dataclass(frozen=True, slots=True)
class VenueActivity:
    """An order or fill seen on a user's venue account."""

    user_id: int
    exchange_id: str
    symbol: str
    side: Side
    client_order_id: str | None
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Halt:
    """`user_id` None: the symbol is halted for every key on the venue; else that key alone."""

    exchange_id: str
    user_id: int | None
    symbol: str | None
    reason: str


def detect_anomalies(
    activities: Iterable[VenueActivity],
    is_ours: Callable[[VenueActivity], bool],
    *,
    min_users: int = ANOMALY_MIN_USERS,
) -> Sequence[Halt]:
    """A key trading outside the engine (an order QARI did not make) halts that key; several keys buying
    one symbol outside the engine (the pump signature) halt the symbol for everyone."""
    halts: list[Halt] = []
    buyers: dict[tuple[str, str], set[int]] = {}
    halted_keys: set[tuple[str, int]] = set()
    for a in activities:
        if is_ours(a):
            continue
        if (a.exchange_id, a.user_id) not in halted_keys:
            halted_keys.add((a.exchange_id, a.user_id))
            halts.append(
                Halt(a.exchange_id, a.user_id, None, f"{a.side.value} {a.symbol} placed outside QARI")
            )
        if a.side is Side.BUY:
            buyers.setdefault((a.exchange_id, a.symbol), set()).add(a.user_id)
    for (exchange_id, symbol), users in sorted(buyers.items()):
        if len(users) >= min_users:
            halts.append(Halt(exchange_id, None, symbol, f"{len(users)} keys bought {symbol} outside QARI"))
    return halts


class GuardRefusedError(RejectedError):
    """The guard refused to send the order (never sent: nothing to look up on the venue)."""

    def __init__(self, verdict: GuardVerdict | str) -> None:
        """From the verdict, or from its message as it crossed the signer's socket (`guard <code>: …`)."""
        if isinstance(verdict, str):
            code, _, reason = verdict.removeprefix("guard ").partition(": ")
            verdict = GuardVerdict(False, code, reason)
        super().__init__(f"guard {verdict.code}: {verdict.reason}", code=verdict.code)
        self.verdict = verdict
