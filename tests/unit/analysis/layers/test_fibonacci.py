from __future__ import annotations

import pytest

from analysis.builders import candles, path, snapshot, with_candle
from qari.analysis.context import AnalysisContext
from qari.analysis.layer import Vote
from qari.analysis.layers.fibonacci import Fibonacci, in_golden_pocket

LEG = path(130, 100, 200, 180, steps=10)  # leg low 99.8, leg high 200.2, swing high confirmed


def _with_close(close: float):
    s = with_candle(candles(LEG), o=180.0, h=180.2, low=close - 0.2, c=close)
    return Fibonacci().evaluate(AnalysisContext(snapshot(s)))


@pytest.mark.parametrize("ratio", [0.62, 0.635, 0.649])
def test_fibonacci_when_retracement_in_golden_pocket_then_agree(ratio: float) -> None:
    close = 200.2 - ratio * (200.2 - 99.8)

    r = _with_close(close)

    assert r.vote == Vote.AGREE
    assert r.evidence["in_golden_pocket"] is True
    assert abs(r.evidence["retracement"] - ratio) < 1e-9
    assert r.evidence["golden_pocket_low"] < close < r.evidence["golden_pocket_high"]


@pytest.mark.parametrize(("ratio", "vote"), [(0.3, Vote.NEUTRAL), (0.55, Vote.NEUTRAL), (0.7, Vote.NEUTRAL)])
def test_fibonacci_when_outside_golden_pocket_then_not_agree(ratio: float, vote: Vote) -> None:
    r = _with_close(200.2 - ratio * (200.2 - 99.8))

    assert r.vote == vote
    assert r.evidence["in_golden_pocket"] is False


def test_fibonacci_when_price_below_leg_start_then_against() -> None:
    assert _with_close(95.0).vote == Vote.AGAINST


def test_golden_pocket_bounds() -> None:
    assert in_golden_pocket(0.618) and in_golden_pocket(0.65)
    assert not in_golden_pocket(0.6179) and not in_golden_pocket(0.6501)


def test_fibonacci_when_no_completed_leg_then_abstain() -> None:
    r = Fibonacci().evaluate(AnalysisContext(snapshot(candles(path(100, 140, steps=40)))))

    assert r.vote == Vote.ABSTAIN
    assert "leg" in r.explanation
