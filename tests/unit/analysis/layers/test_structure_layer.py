from __future__ import annotations

from analysis.builders import candles, htf, path, snapshot
from qari.analysis.context import AnalysisContext
from qari.analysis.layer import Vote
from qari.analysis.layers.structure import MarketStructure

UP = path(100, 110, 105, 115, 110, 120, 114, 124, 118, 128)
DOWN = path(128, 118, 124, 114, 120, 110, 115, 105, 110, 100)


def _eval(entry_closes: list[float], h4_closes: list[float], d1_closes: list[float]):
    snap = snapshot(candles(entry_closes), h4=htf(h4_closes, "4h"), d1=htf(d1_closes, "1d"))
    return MarketStructure().evaluate(AnalysisContext(snap))


def test_market_structure_when_daily_and_4h_bearish_then_against_with_veto() -> None:
    r = _eval(UP, DOWN, DOWN)

    assert r.vote == Vote.AGAINST
    assert r.veto == "htf_bearish"
    assert r.evidence["4h"]["state"] == "BEARISH"
    assert r.evidence["1d"]["state"] == "BEARISH"


def test_market_structure_when_all_timeframes_bullish_then_agree_with_high_score() -> None:
    r = _eval(UP, UP, UP)

    assert r.vote == Vote.AGREE
    assert r.veto is None
    assert r.score >= 0.85
    assert r.evidence["htf_aligned"] is True
    assert r.explanation.endswith(".")


def test_market_structure_when_equal_highs_unswept_then_listed_as_liquidity() -> None:
    closes = path(100, 110, 104, 110, 104, 108, steps=6)  # two swing highs at 110(+wick)

    r = _eval(closes, UP, UP)

    levels = [x["level"] for x in r.evidence["15m"]["eqh"]]
    assert levels == [110.2]
