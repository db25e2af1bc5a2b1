"""The blast-radius guard's policy (`qari.risk.guard`), one rule at a time: pure, no venue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from qari.core.market import OrderBook
from qari.core.orders import Side
from qari.risk.guard import (
    GuardLimits,
    GuardOrder,
    MarketFacts,
    SentBuy,
    VenueActivity,
    book_depth,
    detect_anomalies,
    evaluate_guard,
    spent_today,
)

D = Decimal
AT = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
LIQUID = MarketFacts(
    last=D(100), quote_volume_24h=D(50_000_000), bid_depth_quote=D(1e6), ask_depth_quote=D(1e6)
)
THIN = MarketFacts(last=D(100), quote_volume_24h=D(20_000), bid_depth_quote=D(900), ask_depth_quote=D(800))
PRO = GuardLimits.for_plan("pro")


def buy(qty: str = "1", price: str | None = "100", symbol: str = "SOL/USDT") -> GuardOrder:
    return GuardOrder(1, "bybit", symbol, Side.BUY, D(qty), None if price is None else D(price))


def sell(qty: str = "1000", price: str | None = None, symbol: str = "SOL/USDT") -> GuardOrder:
    return GuardOrder(1, "bybit", symbol, Side.SELL, D(qty), None if price is None else D(price))


def test_plan_caps_when_user_lowers_then_lower_kept_and_never_raised() -> None:
    assert (PRO.per_order_usdt, PRO.per_day_usdt) == (D(10_000), D(100_000))
    lowered = GuardLimits.for_plan("pro", per_order_usdt=D(300), per_day_usdt=D(1_000))
    assert (lowered.per_order_usdt, lowered.per_day_usdt) == (D(300), D(1_000))
    raised = GuardLimits.for_plan("pro", per_order_usdt=D(10**9), per_day_usdt=D(10**9))
    assert (raised.per_order_usdt, raised.per_day_usdt) == (D(10_000), D(100_000))
    assert GuardLimits.for_plan("unknown").per_order_usdt == GuardLimits.for_plan("trial").per_order_usdt


def test_guard_when_ordinary_buy_in_liquid_market_then_admitted() -> None:
    verdict = evaluate_guard(buy(), LIQUID, PRO, spent_today_usdt=D(0))
    assert verdict.allowed and verdict.code == "ok"


def test_guard_when_buy_above_per_order_cap_then_refused() -> None:
    verdict = evaluate_guard(buy(qty="100.01"), LIQUID, PRO, spent_today_usdt=D(0))
    assert (verdict.allowed, verdict.code) == (False, "order_cap")


def test_guard_when_day_cap_would_be_passed_then_refused() -> None:
    assert evaluate_guard(buy(qty="10"), LIQUID, PRO, spent_today_usdt=D(99_000)).allowed
    verdict = evaluate_guard(buy(qty="10.01"), LIQUID, PRO, spent_today_usdt=D(99_000))
    assert (verdict.allowed, verdict.code) == (False, "day_cap")


def test_guard_when_market_buy_then_priced_at_last_for_the_caps() -> None:
    verdict = evaluate_guard(buy(qty="101", price=None), LIQUID, PRO, spent_today_usdt=D(0))
    assert verdict.code == "order_cap"


@pytest.mark.parametrize(("price", "allowed"), [("105", True), ("105.01", False), ("80", True)])
def test_guard_when_buy_priced_above_band_then_refused(price: str, allowed: bool) -> None:
    verdict = evaluate_guard(buy(price=price), LIQUID, PRO, spent_today_usdt=D(0))
    assert verdict.allowed is allowed
    assert allowed or verdict.code == "price_band"


def test_guard_when_turnover_thin_then_refused() -> None:
    facts = MarketFacts(D(100), D(999_999), D(1e6), D(1e6))
    assert evaluate_guard(buy(), facts, PRO, spent_today_usdt=D(0)).code == "thin_turnover"


@pytest.mark.parametrize(("bids", "asks"), [("49999", "1000000"), ("1000000", "49999")])
def test_guard_when_book_thin_on_either_side_then_refused(bids: str, asks: str) -> None:
    facts = MarketFacts(D(100), D(50_000_000), D(bids), D(asks))
    assert evaluate_guard(buy(), facts, PRO, spent_today_usdt=D(0)).code == "thin_book"


@pytest.mark.parametrize("symbol", ["SOL/BTC", "SOL/USDT:USDT", "SOLUSDT"])
def test_guard_when_not_spot_usdt_then_refused(symbol: str) -> None:
    assert evaluate_guard(buy(symbol=symbol), LIQUID, PRO, spent_today_usdt=D(0)).code == "market"


def test_guard_when_market_facts_missing_then_buy_fails_closed() -> None:
    assert evaluate_guard(buy(), None, PRO, spent_today_usdt=D(0)).code == "no_facts"
    no_last = MarketFacts(None, D(50_000_000), D(1e6), D(1e6))
    assert evaluate_guard(buy(), no_last, PRO, spent_today_usdt=D(0)).code == "no_facts"


def test_guard_when_halted_then_buy_refused() -> None:
    verdict = evaluate_guard(buy(), LIQUID, PRO, spent_today_usdt=D(0), halted="halted: pump")
    assert (verdict.allowed, verdict.code) == (False, "halted")


@pytest.mark.parametrize("market", [LIQUID, THIN, None])
def test_guard_when_sell_then_never_refused_whatever_the_conditions(market: MarketFacts | None) -> None:
    """Exits and protective stops: above every cap, thin book, no facts, halted, past the day cap."""
    tiny = GuardLimits(per_order_usdt=D(1), per_day_usdt=D(1))
    verdict = evaluate_guard(
        sell(symbol="PUMP/BTC"), market, tiny, spent_today_usdt=D(10**9), halted="halted: pump"
    )
    assert verdict.allowed and verdict.code == "exit"


def test_book_depth_when_levels_beyond_band_then_not_counted() -> None:
    book = OrderBook(
        "SOL/USDT",
        bids=((D(99), D(10)), (D(97), D(10))),  # mid 100: 97 is beyond -2 %
        asks=((D(101), D(10)), (D(102), D(5)), (D(103), D(10))),
    )
    assert book_depth(book) == (D(990), D(1010) + D(510))
    assert book_depth(OrderBook("SOL/USDT", bids=(), asks=((D(1), D(1)),))) is None


def _activity(user: int, symbol: str, side: Side, cid: str | None) -> VenueActivity:
    return VenueActivity(user, "bybit", symbol, side, cid, AT)


def test_anomaly_when_key_trades_outside_qari_then_key_halted() -> None:
    seen = [_activity(1, "SOL/USDT", Side.BUY, "q1-5-leg11"), _activity(2, "SOL/USDT", Side.SELL, None)]
    halts = detect_anomalies(seen, lambda a: (a.client_order_id or "").startswith("q"))
    assert [(h.user_id, h.symbol) for h in halts] == [(2, None)]


def test_anomaly_when_several_keys_buy_one_symbol_outside_qari_then_symbol_halted() -> None:
    seen = [_activity(u, "PUMP/USDT", Side.BUY, None) for u in (1, 2, 3)]
    halts = detect_anomalies(seen, lambda a: False)
    assert [(h.user_id, h.symbol) for h in halts] == [(1, None), (2, None), (3, None), (None, "PUMP/USDT")]
    single = detect_anomalies(seen[:1], lambda a: False)
    assert all(h.symbol is None for h in single)


def test_spent_today_when_orders_done_or_live_then_fills_of_done_and_whole_of_live_count() -> None:
    buys = [
        SentBuy(D(2), D(100), D(1), D(99), done=True),  # canceled half-filled: 99
        SentBuy(D(3), D(100), D(0), None, done=True),  # expired unfilled, or rejected: 0
        SentBuy(D(1), D(50), D(0), None, done=False),  # resting: may still fill: 50
    ]
    assert spent_today(buys) == D(149)
