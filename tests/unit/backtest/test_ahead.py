"""What the analysis workers send back to the backtest's engine process."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle

from tests.market_data import MARKET_DATA, needs_market_data

from qari.analysis.engine import analyse
from qari.backtest.ahead import for_engine
from qari.backtest.data import load_market_data
from qari.core.time import to_ms
from qari.engine.cycle import ExchangeScan
from qari.market.snapshots import build_snapshots


@needs_market_data
def test_for_engine_when_real_verdicts_then_candidates_whole_and_the_rest_without_layers() -> None:
    # Arrange: a day of a strong market, hourly: candidates on several pairs, most verdicts without
    day = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    market = load_market_data(MARKET_DATA, None, day, day + dt.timedelta(days=1))
    verdicts = [
        analyse(snapshot)
        for hour in range(0, 24, 3)
        for snapshot in build_snapshots(market.series, to_ms(day + dt.timedelta(hours=hour))).values()
    ]

    # Act
    sent = [for_engine(v) for v in verdicts]

    # Assert: a candidate's verdict travels whole; any other keeps all but its layer results
    with_candidate = [(v, s) for v, s in zip(verdicts, sent, strict=True) if v.candidate is not None]
    assert with_candidate and len(with_candidate) < len(verdicts)
    assert all(s is v for v, s in with_candidate)
    for verdict, slim in zip(verdicts, sent, strict=True):
        assert slim == dataclasses.replace(verdict, layers=slim.layers)
        assert slim.layers == (verdict.layers if verdict.candidate is not None else ())
    scan = ExchangeScan("sandbox", day, {f"{v.symbol}@{v.at_ms}": v for v in verdicts})
    slim_scan = ExchangeScan("sandbox", day, {f"{s.symbol}@{s.at_ms}": s for s in sent})
    assert slim_scan.candidates() == scan.candidates()
    assert len(pickle.dumps(sent)) < len(pickle.dumps(verdicts)) / 3
