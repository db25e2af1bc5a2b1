from __future__ import annotations

import numpy as np

from analysis.builders import candles, snapshot, with_candle
from qari.analysis.context import AnalysisContext
from qari.analysis.ele import detect_ele
from qari.analysis.engine import analyse

CALM = [100.0 + 0.3 * ((-1) ** i) for i in range(60)]


def _crash(drop_to: float, volume: float):
    s = candles(CALM)
    for close in np.linspace(100.0, drop_to, 5)[1:]:
        s = with_candle(
            s,
            o=float(s.close[-1]),
            h=float(s.close[-1]) + 0.1,
            low=float(close) - 0.1,
            c=float(close),
            v=volume,
        )
    return s


def test_ele_when_25_percent_drop_in_an_hour_on_extreme_volume_then_detected() -> None:
    s = _crash(75.0, 1_000.0)

    ele = detect_ele(AnalysisContext(snapshot(s)).entry)

    assert ele is not None
    assert ele.drop >= 0.20
    assert ele.volume_ratio >= 3.0
    assert ele.bars_ago == 0


def test_ele_when_drop_is_only_10_percent_then_none() -> None:
    assert detect_ele(AnalysisContext(snapshot(_crash(90.0, 1_000.0))).entry) is None


def test_ele_when_volume_is_ordinary_then_none() -> None:
    assert detect_ele(AnalysisContext(snapshot(_crash(75.0, 100.0))).entry) is None


def test_ele_when_open_interest_did_not_collapse_then_none() -> None:
    entry = AnalysisContext(snapshot(_crash(75.0, 1_000.0))).entry

    assert detect_ele(entry, np.array([100.0, 99.0])) is None
    assert detect_ele(entry, np.array([100.0, 60.0])) is not None


def test_analyse_when_ele_active_then_vetoed() -> None:
    v = analyse(snapshot(_crash(75.0, 1_000.0)))

    assert "ele" in v.vetoes
    assert v.candidate is None
