"""Invariants of full analysis passes on real data: scores in range, levels inside the price range,
explanations non-empty, candidates structurally ordered."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scan_support import DOMINANCE, closed_by, require_market_data

from qari.analysis.engine import Verdict, Vote, analyse
from qari.core.market import CandleSeries, MarketContext
from qari.market.dominance import load_dominance
from qari.market.scan_pass import load_series
from qari.market.snapshots import build_snapshots

PAIRS = [f"{b}/USDT" for b in ("BTC", "ETH", "SOL", "AVAX", "INJ", "PEPE", "OP", "ARB", "ARKM", "WLD")]


@pytest.fixture(scope="module")
def passes() -> list[tuple[int, dict[str, dict[str, CandleSeries]], dict[str, Verdict]]]:
    data = require_market_data()
    series = load_series(data, PAIRS)
    ctx = load_dominance(DOMINANCE).into(MarketContext()) if DOMINANCE.is_file() else MarketContext()
    ts = series["BTC/USDT"]["15m"].ts
    out = []
    for i in range(2_000, ts.shape[0] - 1, 263):  # ~80 times over eight months, all hours of the day
        at_ms = int(ts[i])
        snaps = build_snapshots(series, at_ms, symbols=PAIRS, context=ctx)
        out.append((at_ms, series, {s: analyse(snap) for s, snap in snaps.items()}))
    return out


def _price_range(series: dict[str, CandleSeries], at_ms: int) -> tuple[float, float]:
    lows = [float(closed_by(s, at_ms).low.min()) for s in series.values() if len(closed_by(s, at_ms))]
    highs = [float(closed_by(s, at_ms).high.max()) for s in series.values() if len(closed_by(s, at_ms))]
    return min(lows), max(highs)


def _levels(evidence: dict) -> list[float]:
    keys = (
        "level",
        "low",
        "high",
        "leg_low",
        "leg_high",
        "swing_highs",
        "swing_lows",
        "buy_side",
        "sell_side",
        "wick",
    )
    found: list[float] = []
    for k, v in evidence.items():
        if isinstance(v, dict):
            found += _levels(v)
        elif isinstance(v, list):
            for item in v:
                if isinstance(item, dict):
                    found += _levels(item)
                elif k in keys and isinstance(item, float):
                    found.append(item)
        elif k in keys and isinstance(v, float):
            found.append(v)
    return found


def test_scan_invariants_on_real_data(passes) -> None:
    candidates = 0
    for at_ms, series, verdicts in passes:
        for symbol, v in verdicts.items():
            assert [r.layer for r in v.layers] == list(range(1, 12))
            assert 0.0 <= v.score <= 1.0
            assert v.agreeing == sum(r.vote == Vote.AGREE for r in v.layers)
            lo, hi = _price_range(series[symbol], at_ms)
            for r in v.layers:
                assert 0.0 <= r.score <= 1.0, (symbol, r)
                assert r.explanation.strip(), (symbol, r.layer)
                json.dumps(r.evidence, allow_nan=False)
                if r.layer in (1, 2, 3, 6):
                    for level in _levels(r.evidence):
                        assert lo <= level <= hi, (symbol, at_ms, r.layer, level, lo, hi)
            c = v.candidate
            if c is None:
                continue
            candidates += 1
            assert not v.vetoes
            assert v.agreeing >= 3
            assert 0 < c.stop < c.entry_low <= c.entry_high < c.pt1 < c.pt2
            assert lo <= float(c.entry_low) and float(c.entry_high) <= hi
            assert symbol in c.explanation and len(c.explanation) > 100
            assert set(c.layers_agreed) == {r.layer for r in v.layers if r.vote == Vote.AGREE}
    assert candidates >= 1, "no candidate in ~800 symbol-times: the confluence gate never opens"


def test_scan_vetoes_when_present_then_block_candidates(passes) -> None:
    vetoed = [v for _, _, verdicts in passes for v in verdicts.values() if v.vetoes]

    assert vetoed, "expected some vetoed verdicts on eight months of data"
    assert all(v.candidate is None for v in vetoed)
    assert {x for v in vetoed for x in v.vetoes} <= {"htf_bearish", "btc_bearish_break", "ele"}


def test_scan_stop_distances_mostly_inside_the_band(passes) -> None:
    dists = []
    for _, _, verdicts in passes:
        for v in verdicts.values():
            if v.candidate is not None:
                c = v.candidate
                mid = float(c.entry_low + c.entry_high) / 2
                dists.append((mid - float(c.stop)) / mid)
    assert dists
    assert np.mean([0.10 <= d <= 0.30 for d in dists]) >= 0.8
