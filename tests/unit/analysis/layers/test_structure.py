from __future__ import annotations

from analysis.builders import candles, path
from qari.analysis.features import structure_of
from qari.analysis.layers.structure import bullish_choch_15m
from qari.analysis.primitives.structure import BEARISH, BULLISH
from qari.analysis.primitives.swings import latest_higher_low

UPTREND = path(100, 110, 105, 115, 110, 120, 114, 124)


def _structure(closes: list[float]):
    s = candles(closes)
    return structure_of(s, 3)


def test_structure_when_higher_highs_and_higher_lows_then_bullish() -> None:
    st = _structure(UPTREND)

    assert st.state == BULLISH
    assert st.pattern == BULLISH
    assert st.last_break is not None and st.last_break.direction == "bullish"
    assert st.last_break.kind == "BOS"


def test_structure_when_last_higher_low_breaks_then_bearish_choch() -> None:
    closes = [*UPTREND, *path(124, 112, steps=4)[1:]]  # last HL is ~114 (low 113.8)

    st = _structure(closes)

    last = st.last_break
    assert last is not None
    assert (last.direction, last.kind) == ("bearish", "CHoCH")
    assert abs(last.level - (114 - 0.2)) < 1e-9
    assert st.state == BEARISH


def test_structure_when_lower_highs_and_lower_lows_then_bearish() -> None:
    st = _structure(path(124, 114, 120, 110, 115, 105, 110, 100))

    assert st.state == BEARISH


def test_bullish_choch_15m_when_downtrend_breaks_last_lower_high_then_true() -> None:
    down = path(124, 114, 120, 110, 115, 105)
    closes = [*down, *path(105, 116, steps=3)[1:]]  # breaks the last lower high (~115.2)
    s = candles(closes)

    assert bullish_choch_15m(s, within=2)
    assert not bullish_choch_15m(candles(down))


def test_latest_higher_low_when_uptrend_then_last_swing_low() -> None:
    assert latest_higher_low(candles(UPTREND)) == 114 - 0.2
    assert latest_higher_low(candles(path(124, 114, 120, 110, 115, 105, 110))) is None
