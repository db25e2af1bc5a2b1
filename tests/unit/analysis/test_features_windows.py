"""A window's pivots, structure and volume median read from `features.History` are the window's own:
the same from a history of the whole series (the backtest's, kept in `Histories`) as from the window
alone (live), and the same as a naive reading of the window."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.builders import T0
from qari.analysis.engine import screen
from qari.analysis.features import History, structure_of
from qari.analysis.primitives.resample import resample
from qari.analysis.primitives.structure import BEARISH, BULLISH, RANGE
from qari.analysis.primitives.swings import find_pivots
from qari.backtest.screening import SweptScreen
from qari.core.market import CandleSeries, MarketContext, MarketSnapshot

STEP = 900_000


def walk(seed: int, n: int, symbol: str = "ALT/USDT") -> CandleSeries:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(
        np.cumsum(np.repeat(rng.normal(0, 0.004, n // 30 + 1), 30)[:n] + rng.normal(0, 0.01, n))
    )
    open_ = np.concatenate(([close[0]], close[:-1]))
    wick = np.abs(rng.normal(0, 0.004, n)) * close
    high, low = np.maximum(open_, close) + wick, np.minimum(open_, close) - wick * rng.uniform(0, 2, n)
    volume = rng.gamma(2.0, 50.0, n)
    return CandleSeries(
        symbol, "15m", T0 + STEP * np.arange(n, dtype=np.int64), open_, high, low, close, volume
    )


def naive_structure(s: CandleSeries, k: int) -> tuple[str, str, list[tuple[int, str, str, float, int]]]:
    """The rules read bar by bar: a break is the first close beyond the latest swing confirmed before
    it; against the previous break it is a CHoCH; the state is the swing pattern unless the last break is
    a CHoCH after the last confirmed pivot."""
    p = find_pivots(s.high, s.low, k)
    events = []
    for idx, px, up in ((p.high_idx, p.high_px, True), (p.low_idx, p.low_px, False)):
        used = set()
        for bar in range(s.close.shape[0]):
            known = [j for j in range(idx.shape[0]) if idx[j] + k < bar]
            if not known or known[-1] in used:
                continue
            ref = known[-1]
            if (s.close[bar] > px[ref]) if up else (s.close[bar] < px[ref]):
                used.add(ref)
                events.append((bar, "bullish" if up else "bearish", float(px[ref]), int(idx[ref])))
    events.sort(key=lambda e: (e[0], e[1]))
    breaks = []
    for i, (bar, direction, level, pivot) in enumerate(events):
        kind = "CHoCH" if i and events[i - 1][1] != direction else "BOS"
        breaks.append((bar, direction, kind, level, pivot))
    hp, lp = p.high_px, p.low_px
    pattern = RANGE
    if hp.shape[0] >= 2 and lp.shape[0] >= 2:
        if hp[-1] > hp[-2] and lp[-1] > lp[-2]:
            pattern = BULLISH
        elif hp[-1] < hp[-2] and lp[-1] < lp[-2]:
            pattern = BEARISH
    state = pattern
    confirmed = max(int(x[-1]) + k if x.shape[0] else -1 for x in (p.high_idx, p.low_idx))
    if breaks and breaks[-1][2] == "CHoCH" and breaks[-1][0] > confirmed:
        state = BULLISH if breaks[-1][1] == "bullish" else BEARISH
    return state, pattern, breaks


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100_000), size=st.integers(60, 700), window=st.sampled_from([120, 200, 320]))
def test_history_when_any_window_then_pivots_structure_and_median_are_the_windows_own(
    seed: int, size: int, window: int
) -> None:
    s = walk(seed, size)
    k = 3
    whole = History(s, window, k)
    for n in range(0, size + 1, 7):
        w = s.window(max(0, n - window), n)
        kept, alone = whole.window_structure(n), structure_of(w, k)
        own = find_pivots(w.high, w.low, k)
        for got in (kept.pivots, alone.pivots):
            assert np.array_equal(got.high_idx, own.high_idx) and np.array_equal(got.low_idx, own.low_idx)
            assert np.array_equal(got.high_px, own.high_px) and np.array_equal(got.low_px, own.low_px)
        assert (kept.state, kept.pattern, kept.breaks) == (alone.state, alone.pattern, alone.breaks)
        state, pattern, breaks = naive_structure(w, k)
        assert (kept.state, kept.pattern) == (state, pattern)
        assert [(b.index, b.direction, b.kind, b.level, b.pivot_index) for b in kept.breaks] == breaks
        assert whole.median_at(n) == (float(np.median(w.volume[-100:])) if n else 0.0)
        assert whole.state[n] == {RANGE: 1, BULLISH: 2, BEARISH: 3}[state]


def test_swept_screen_when_it_keeps_whole_series_features_then_verdicts_are_screens_own() -> None:
    alt, btc = walk(7, 1400), walk(8, 1400, "BTC/USDT")
    frames = {tf: alt if tf == "15m" else resample(alt, tf) for tf in ("15m", "4h", "1d")}
    btc_frames = {tf: btc if tf == "15m" else resample(btc, tf) for tf in ("15m", "4h", "1d")}

    times = [int(alt.ts[0]) + STEP * i for i in range(400, 1400, 37)]
    swept = SweptScreen({}, times[0], STEP)  # no bound: every step is analysed, reading kept features
    for at in times:
        snap = MarketSnapshot("ALT/USDT", at, frames, context=MarketContext(btc=btc_frames))
        assert repr(swept(snap)) == repr(screen(snap))
    assert len(swept.analyse.keywords["histories"]._built) == 5  # ALT's 15m, 4h, 1d and BTC's 4h, 1d
