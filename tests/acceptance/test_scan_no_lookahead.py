"""No look-ahead: every layer's output at t is identical when all candles after t are removed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scan_support import DOMINANCE, closed_by, require_market_data

from qari.analysis.engine import analyse
from qari.core.market import CandleSeries, MarketContext
from qari.core.time import timeframe_ms
from qari.market.dominance import load_dominance
from qari.market.scan_pass import load_series
from qari.market.snapshots import build_snapshots

PAIRS = ["SOL/USDT", "PEPE/USDT", "ARKM/USDT", "LINK/USDT"]  # 15m, 15m, 1h-only, 15m


@pytest.fixture(scope="module")
def loaded() -> dict[str, dict[str, CandleSeries]]:
    return load_series(require_market_data(), PAIRS)


def _verdict_json(
    series: dict[str, dict[str, CandleSeries]], at_ms: int, ctx: MarketContext
) -> dict[str, str]:
    snaps = build_snapshots(series, at_ms, symbols=PAIRS, context=ctx)
    return {s: json.dumps(analyse(snap).to_dict(), sort_keys=True) for s, snap in snaps.items()}


def test_scan_when_candles_after_t_removed_then_every_layer_identical(
    loaded: dict[str, dict[str, CandleSeries]],
) -> None:
    ctx = load_dominance(DOMINANCE).into(MarketContext()) if DOMINANCE.is_file() else MarketContext()
    ts = loaded["SOL/USDT"]["15m"].ts
    rng = np.random.default_rng(5)
    picks = sorted(int(x) for x in rng.choice(np.arange(3_000, ts.shape[0] - 500), size=30, replace=False))
    # analysis times: exactly on a 15m close, and mid-candle (a forming candle exists in the data)
    times = [int(ts[i]) for i in picks] + [int(ts[i]) + 7 * 60_000 for i in picks[:10]]
    checked = 0
    for at_ms in times:
        full = _verdict_json(loaded, at_ms, ctx)
        cut = {s: {tf: closed_by(x, at_ms) for tf, x in by_tf.items()} for s, by_tf in loaded.items()}
        cut_ctx = ctx
        if ctx.btc_dominance is not None and ctx.btc_dominance_ts is not None:
            keep = ctx.btc_dominance_ts <= at_ms - timeframe_ms("1d")
            cut_ctx = MarketContext(
                btc_dominance=ctx.btc_dominance[keep], btc_dominance_ts=ctx.btc_dominance_ts[keep]
            )
        truncated = _verdict_json(cut, at_ms, cut_ctx)
        assert truncated == full, f"look-ahead at {at_ms}"
        checked += len(full)
    assert checked == len(times) * len(PAIRS)


def test_analyse_many_when_btc_frames_shared_then_identical_to_analyse_per_symbol(
    loaded: dict[str, dict[str, CandleSeries]],
) -> None:
    from qari.analysis.engine import analyse_many

    at_ms = int(loaded["SOL/USDT"]["15m"].ts[9_000])
    snaps = build_snapshots(loaded, at_ms, symbols=PAIRS)

    many = analyse_many(snaps)

    assert list(many) == sorted(PAIRS)
    for symbol, snap in snaps.items():
        assert many[symbol] == analyse(snap)
