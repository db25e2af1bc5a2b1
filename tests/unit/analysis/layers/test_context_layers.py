"""Sentiment, order book, session and BTC dominance: the layers fed by non-candle context."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from analysis.builders import T0, candles, htf, path, snapshot
from qari.analysis.context import AnalysisContext
from qari.analysis.layer import Vote
from qari.analysis.layers.btc_dominance import BtcDominance
from qari.analysis.layers.order_book import OrderBookDepth
from qari.analysis.layers.sentiment import Sentiment
from qari.analysis.layers.session import SessionContext, sessions_at
from qari.core.market import MarketContext, OrderBook

UP = path(100, 110, 105, 115, 110, 120, 114, 124, 118, 128)
DOWN = path(128, 118, 124, 114, 120, 110, 115, 105, 110, 100)


def _ctx(context: MarketContext | None = None, book: OrderBook | None = None, at_ms: int | None = None):
    return AnalysisContext(snapshot(candles(UP), context=context, book=book, at_ms=at_ms))


def test_sentiment_when_no_data_then_abstain_and_says_so() -> None:
    r = Sentiment().evaluate(_ctx())

    assert r.vote == Vote.ABSTAIN
    assert "unavailable" in r.explanation


def test_sentiment_when_extreme_fear_with_bullish_structure_then_agree() -> None:
    r = Sentiment().evaluate(_ctx(MarketContext(fear_greed=12.0)))

    assert r.vote == Vote.AGREE
    assert r.evidence["fear_greed"] == 12.0


def test_sentiment_when_negative_funding_then_agree() -> None:
    assert Sentiment().evaluate(_ctx(MarketContext(funding_rate=-0.0002))).vote == Vote.AGREE


def test_sentiment_when_extreme_greed_then_against() -> None:
    assert Sentiment().evaluate(_ctx(MarketContext(fear_greed=91.0))).vote == Vote.AGAINST


def _book(bid_qty: str, ask_qty: str, spread: str = "0.01") -> OrderBook:
    bid = Decimal("127.99")
    ask = bid + Decimal(spread)
    return OrderBook(
        "TEST/USDT",
        bids=((bid, Decimal(bid_qty)), (bid - 1, Decimal(bid_qty))),
        asks=((ask, Decimal(ask_qty)), (ask + 1, Decimal(ask_qty))),
    )


def test_order_book_when_missing_then_abstain() -> None:
    assert OrderBookDepth().evaluate(_ctx()).vote == Vote.ABSTAIN


def test_order_book_when_bids_outweigh_asks_then_agree() -> None:
    r = OrderBookDepth().evaluate(_ctx(book=_book("30", "10")))

    assert r.vote == Vote.AGREE
    assert r.evidence["imbalance"] == pytest.approx(0.75, abs=0.01)


def test_order_book_when_asks_dominate_then_against() -> None:
    assert OrderBookDepth().evaluate(_ctx(book=_book("5", "30"))).vote == Vote.AGAINST


def test_order_book_when_spread_wide_then_against() -> None:
    r = OrderBookDepth().evaluate(_ctx(book=_book("30", "10", spread="1.0")))

    assert r.vote == Vote.AGAINST
    assert r.evidence["spread_bps"] > 30


@pytest.mark.parametrize(
    ("hour", "expected"),
    [(3, ["asia"]), (7, ["asia", "london"]), (14, ["london", "new_york"]), (20, ["new_york"]), (23, [])],
)
def test_sessions_at_hour(hour: int, expected: list[str]) -> None:
    assert sessions_at(hour) == expected


def test_session_when_weekday_new_york_open_then_agree() -> None:
    tuesday_14h = T0 + (1 * 24 + 14) * 3_600_000  # 2024-01-02 was a Tuesday

    r = SessionContext().evaluate(_ctx(at_ms=tuesday_14h))

    assert r.vote == Vote.AGREE
    assert r.evidence["sessions"] == ["london", "new_york"]
    assert r.evidence["session_open"] == ["new_york"]


def test_session_when_weekday_mid_session_then_neutral_but_liquid_score() -> None:
    tuesday_17h = T0 + (1 * 24 + 17) * 3_600_000

    r = SessionContext().evaluate(_ctx(at_ms=tuesday_17h))

    assert r.vote == Vote.NEUTRAL
    assert r.score >= 0.7


def test_session_when_weekend_then_thin_and_low_score() -> None:
    saturday_14h = T0 + (5 * 24 + 14) * 3_600_000

    r = SessionContext().evaluate(_ctx(at_ms=saturday_14h))

    assert r.vote == Vote.NEUTRAL
    assert r.evidence["thin_hours"] is True
    assert r.score <= 0.2


def _btc(closes_4h: list[float], closes_1d: list[float]) -> dict:
    end = T0 + 31 * 900_000  # aligned with the 15m series' close
    return {
        "4h": htf(closes_4h, "4h", "BTC/USDT", end_ms=end),
        "1d": htf(closes_1d, "1d", "BTC/USDT", end_ms=end),
    }


def test_btc_dominance_when_no_data_then_abstain() -> None:
    assert BtcDominance().evaluate(_ctx()).vote == Vote.ABSTAIN


def test_btc_dominance_when_falling_and_btc_bullish_then_agree_for_altcoin() -> None:
    ctx = MarketContext(btc_dominance=np.linspace(56.0, 54.0, 30), btc=_btc(UP, UP))

    r = BtcDominance().evaluate(_ctx(ctx))

    assert r.vote == Vote.AGREE
    assert r.evidence["dominance_change_7d"] < 0


def test_btc_dominance_when_btc_4h_and_daily_bearish_then_veto_altcoins() -> None:
    ctx = MarketContext(btc_dominance=np.linspace(56.0, 54.0, 30), btc=_btc(DOWN, DOWN))

    r = BtcDominance().evaluate(_ctx(ctx))

    assert r.vote == Vote.AGAINST
    assert r.veto == "btc_bearish_break"


def test_btc_dominance_when_dominance_timestamps_given_then_only_closed_days_used() -> None:
    ts = T0 - 86_400_000 * np.arange(30, 0, -1, dtype=np.int64) + 86_400_000  # last day opens at T0
    values = np.concatenate((np.linspace(56.0, 54.0, 29), [99.0]))  # today's (open) value must be ignored
    ctx = MarketContext(btc_dominance=values, btc_dominance_ts=ts, btc=_btc(UP, UP))

    r = BtcDominance().evaluate(AnalysisContext(snapshot(candles(UP), context=ctx, at_ms=T0 + 3_600_000)))

    assert r.evidence["dominance"] == 54.0
