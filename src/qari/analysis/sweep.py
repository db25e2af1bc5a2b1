"""Candidate bounds over a whole history at once: at which cycle times `screen` could make a candidate.

A backtest asks `screen` the same question at every step of every pair, and almost always the answer
is no. `candidate_steps` answers "could it be yes?" for all steps of one symbol in one vectorised pass
(pivots, structure breaks, order blocks, gaps, SFPs, VWAP and volume read off the whole history instead
of one window at a time), so that the backtester runs the real `screen` only where it may matter.

Sound, not exact: a step is ruled out only where one of `decide`'s necessary conditions provably fails
(a veto, no price-action trigger that could agree, fewer layers that could agree than the minimum, or a
best reachable score under the threshold). Each layer is described per step by what it can at best
contribute (`Bound`): its vote and score where they are cheap to know, "cannot agree" where a necessary
condition of agreeing fails, otherwise OPEN (it may agree, with score 1). Sums computed here differ
from a window's in rounding only, so every comparison near a threshold leans towards "possible" (`EPS`),
and a sum whose rounding cannot be bounded that tightly leaves its layer OPEN. The higher-timeframe
facts (4h/1d structure, the BTC veto, the 4h SFP) come from the real layers, evaluated once per distinct
set of closed 4h/1d candles.

A window is what `AnalysisContext` cuts: the last W closed entry candles, [s, n) with s = max(0, n - W).
Pivots are local (k bars either side), so a window's pivots are the history's pivots inside
[s + k, n - 1 - k]; a window's structure breaks are the history's first crosses whose reference pivot
lies in the window. Both are therefore exact here, as are the order blocks' and SFPs' candles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cached_property

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from qari.analysis.confluence import AGAINST_COST, PRICE_ACTION, SCORE_SLACK
from qari.analysis.context import (
    ENTRY_MIN_CANDLES,
    ENTRY_TIMEFRAMES,
    HTF_MIN_CANDLES,
    PIVOT_K,
    WINDOWS,
    AnalysisContext,
)
from qari.analysis.layer import LayerResult, Vote
from qari.analysis.layers import fibonacci, liquidity, structure, volume
from qari.analysis.layers import indicators as indicators_layer
from qari.analysis.layers import order_blocks as ob_layer
from qari.analysis.layers.btc_dominance import BtcDominance
from qari.analysis.layers.order_book import OrderBookDepth
from qari.analysis.layers.sentiment import Sentiment
from qari.analysis.layers.session import SessionContext
from qari.analysis.primitives import gaps, indicators, swings
from qari.analysis.primitives.liquidity import sfp_quality
from qari.analysis.primitives.order_blocks import SEARCH_BACK, block_quality
from qari.analysis.primitives.structure import BEARISH, BULLISH, first_crosses
from qari.analysis.weights import WeightSet, stage1
from qari.core.market import CandleSeries, FloatArray, IntArray, MarketSnapshot
from qari.core.time import timeframe_ms

__all__ = ["Bound", "candidate_steps", "layer_bounds", "possible"]

BoolArray = npt.NDArray[np.bool_]

OPEN, AGREE, NEUTRAL, AGAINST, ABSTAIN = range(5)  # the best a layer can contribute at a step
EPS = 1e-7  # relative slack on every float comparison
TRUSTED = 1e-9  # a sum is used only where its rounding error is below this, relative
SCORE_ROUNDING = 1e-6  # layer scores are rounded to 6 significant digits, maybe upwards
_KIND = {Vote.AGREE: AGREE, Vote.NEUTRAL: NEUTRAL, Vote.AGAINST: AGAINST, Vote.ABSTAIN: ABSTAIN}
_STATE = {None: 0, "RANGE": 1, BULLISH: 2, BEARISH: 3}
_BULL, _BEAR = _STATE[BULLISH], _STATE[BEARISH]
DAY_MS = 86_400_000


@dataclasses.dataclass(slots=True)
class Bound:
    """One layer at every step: the best it can contribute. AGREE: at best it agrees with a score of at
    most `score` (never abstains); NEUTRAL: it cannot agree and never abstains; AGAINST: it votes
    against; ABSTAIN: it cannot agree (it may abstain); OPEN: nothing known (it may agree with any
    score, or abstain). Each is at least as good for a candidate as what it stands for."""

    kind: npt.NDArray[np.int8]
    score: FloatArray
    veto: BoolArray | None = None

    @staticmethod
    def fill(kind: int, size: int) -> Bound:
        return Bound(np.full(size, kind, dtype=np.int8), np.ones(size))


def candidate_steps(
    template: MarketSnapshot,
    times_ms: Sequence[int] | IntArray,
    weights: WeightSet | None = None,
    btc: Bound | None = None,
) -> BoolArray:
    """For each time: False only where `screen(replace(template, at_ms=time))` cannot make a candidate.

    `template` carries the whole histories (`series`), the context and the book; its `at_ms` is ignored.
    `btc` is `btc_bound` for these times, when the caller shares it between the symbols of one market.
    """
    allowed, layers = layer_bounds(template, np.asarray(times_ms, dtype=np.int64), btc)
    return allowed & possible(layers, weights or stage1()) if layers else allowed


def layer_bounds(
    template: MarketSnapshot, times: IntArray, btc: Bound | None = None
) -> tuple[BoolArray, dict[int, Bound]]:
    """Where an entry frame exists and nothing vetoes; and every layer's `Bound` at each time. Without
    4h and 1d series (the analysis would resample them per step) nothing is ruled out."""
    entry_tf = next((tf for tf in ENTRY_TIMEFRAMES if tf in template.series), None)
    if entry_tf is None or times.shape[0] == 0:
        return np.zeros(times.shape[0], dtype=bool), {}
    if "4h" not in template.series or "1d" not in template.series:
        return np.ones(times.shape[0], dtype=bool), {}
    series = template.series[entry_tf]
    hist = _History(series, WINDOWS.get(entry_tf, 300), PIVOT_K.get(entry_tf, swings.DEFAULT_K))
    n = np.searchsorted(series.ts, times - timeframe_ms(entry_tf), side="right")
    htf = _HigherTimeframes(template, times)
    btc = btc if btc is not None else btc_bound(template, times)
    sentiment, book = _constant_layers(template, times.shape[0])
    quality, found = hist.sfps(3)
    layers = {
        1: hist.structure_bound(n, htf.h4_state, htf.d1_state),
        2: hist.liquidity_bound(np.maximum(quality[n], htf.h4_sfp_quality)),
        3: hist.order_block_bound(n, htf.aligned, found[n] | htf.h4_sfp),
        4: hist.volume_bound(n),
        5: sentiment,
        6: hist.fibonacci_bound(n),
        7: hist.indicator_bound(n),
        8: book,
        9: hist.vwap_bound(n),
        10: _session_bound(template, times),
        11: btc,
    }
    vetoed = htf.veto | (btc.veto if btc.veto is not None else False)
    return (np.minimum(n, hist.W) >= ENTRY_MIN_CANDLES) & ~vetoed, layers


def possible(layers: dict[int, Bound], weights: WeightSet) -> BoolArray:
    """`CandidateBound.possible` at every step at once, each layer at its best case."""
    size = next(iter(layers.values())).kind.shape[0]
    agreed = np.zeros(size, dtype=np.int64)
    open_ = np.zeros(size, dtype=np.int64)
    trigger = np.zeros(size, dtype=bool)
    got, lost, total, spare = (np.zeros(size) for _ in range(4))
    for code, bound in layers.items():
        point = weights.point(code)
        kind = bound.kind
        agree, is_open = kind == AGREE, kind == OPEN
        agreed += agree
        open_ += is_open
        got += np.where(agree, point * np.minimum(bound.score, 1.0), 0.0)
        total += point * (agree | (kind == NEUTRAL) | (kind == AGAINST))
        lost += point * (kind == AGAINST)
        spare += point * is_open
        if code in PRICE_ACTION:
            trigger |= agree | is_open
    enough = agreed + open_ >= min(weights.min_agreeing, weights.ele_min_agreeing)
    denominator = spare + total
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (spare + got - AGAINST_COST * lost) / denominator
    score_ok = np.where(denominator > 0, ratio >= weights.threshold - SCORE_SLACK, weights.threshold <= 0.0)
    return enough & trigger & score_ok


# ------------------------------------------------------------------------------------ the helpers


class _Sums:
    """Sums of x[a:b] for many (a, b) at once from one long-double prefix sum, with a trust flag: the
    prefix's rounding error relative to the sum stays below `TRUSTED` (x is non-negative)."""

    def __init__(self, x: FloatArray) -> None:
        self.prefix = np.concatenate(([0.0], np.cumsum(x, dtype=np.longdouble)))
        self.tolerance = 4.0 * (x.shape[0] + 1) * float(np.finfo(np.longdouble).eps)

    def __call__(self, a: IntArray, b: IntArray) -> tuple[FloatArray, BoolArray]:
        top = self.prefix[b]
        total = (top - self.prefix[a]).astype(np.float64)
        bound = self.tolerance * top.astype(np.float64)
        return total, (bound <= TRUSTED * total) | (bound == 0.0)


def _first_after(
    x: FloatArray, starts: IntArray, levels: FloatArray, below: bool, span: int, inclusive: bool = False
) -> IntArray:
    """For each i: the first index j > starts[i], within `span`, with x[j] < levels[i] (or > when not
    `below`; <= / >= with `inclusive`); len(x) when there is none within reach."""
    n = x.shape[0]
    out = np.full(starts.shape[0], n, dtype=np.int64)
    for i, (start, level) in enumerate(zip(starts.tolist(), levels.tolist(), strict=True)):
        seg = x[start + 1 : min(n, start + 1 + span)]
        if below:
            hit = seg <= level if inclusive else seg < level
        else:
            hit = seg >= level if inclusive else seg > level
        j = int(hit.argmax()) if seg.shape[0] else 0
        if seg.shape[0] and hit[j]:
            out[i] = start + 1 + j
    return out


def _range_max(x: FloatArray, lo: IntArray, hi: IntArray) -> FloatArray:
    """max(x[lo:hi]) for each pair (lo < hi), from a sparse table."""
    table = [x]
    width = 1
    while 2 * width <= x.shape[0]:
        prev = table[-1]
        table.append(np.maximum(prev[:-width], prev[width:]))
        width *= 2
    length = hi - lo
    level = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)
    out = np.empty(lo.shape[0])
    for lv in np.unique(level).tolist():
        pick = level == lv
        t = table[lv]
        out[pick] = np.maximum(t[lo[pick]], t[hi[pick] - (1 << lv)])
    return out


def _pairs(starts: IntArray, stops: IntArray) -> tuple[IntArray, IntArray]:
    """All (item, n) with starts[item] <= n <= stops[item], as two flat arrays."""
    lengths = np.maximum(stops - starts + 1, 0)
    item = np.repeat(np.arange(starts.shape[0]), lengths)
    offsets = np.arange(item.shape[0]) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return item, starts[item] + offsets


def _above(x: FloatArray, threshold: float | FloatArray) -> BoolArray:
    """x >= threshold, allowing for rounding (leans towards True)."""
    return x * (1.0 + EPS) + EPS >= threshold


def _may_agree(maybe: BoolArray, score: FloatArray) -> Bound:
    """A layer that never abstains: at best agreeing with at most `score` where it `maybe` agrees,
    NEUTRAL elsewhere."""
    kind = np.where(maybe, AGREE, NEUTRAL).astype(np.int8)
    return Bound(kind, score + SCORE_ROUNDING)


# ------------------------------------------------------------------------- higher-timeframe facts


def _closed(series: CandleSeries, times: IntArray) -> IntArray:
    return np.searchsorted(series.ts, times - timeframe_ms(series.timeframe), side="right")


class _HigherTimeframes:
    """The symbol's 4h/1d facts at each step, from the histories of its 4h and 1d candles (exact
    structure states; the last 4h candle's SFP quality bounded like the entry's): the veto of layer 1,
    the states layer 1 scores, the alignment order blocks and gaps are graded by, the 4h SFP."""

    def __init__(self, template: MarketSnapshot, times: IntArray) -> None:
        states = []
        for tf in ("4h", "1d"):
            series = template.series[tf]
            hist = _History(series, WINDOWS.get(tf, 300), PIVOT_K.get(tf, swings.DEFAULT_K))
            n = _closed(series, times)
            exists = np.minimum(n, hist.W) >= HTF_MIN_CANDLES
            states.append(np.where(exists, hist.state[n], _STATE[None]).astype(np.int8))
            if tf == "4h":
                quality, found = hist.sfps(1)
                self.h4_sfp_quality = np.where(exists, quality[n], -1.0)
                self.h4_sfp = exists & found[n]
        self.h4_state, self.d1_state = states
        self.veto = (self.h4_state == _BEAR) & (self.d1_state == _BEAR)
        self.aligned = self.h4_state == _BULL


def btc_bound(template: MarketSnapshot, times: IntArray) -> Bound:
    """Layer 11 at each step: it reads BTC's 4h/1d candles and the dominance days only, so the real layer
    runs once per distinct set of them (shared by every altcoin of one market: `candidate_steps`'s
    `btc`). A veto shows as a `Bound` of kind AGAINST with `veto` set."""
    is_btc = template.symbol.split("/")[0] == "BTC"
    source = template.series if is_btc else (template.context.btc or {})
    columns = [
        _closed(s, times) if (s := source.get(tf)) is not None else times  # resampled: no grouping
        for tf in ("4h", "1d")
    ]
    dom, dom_ts = template.context.btc_dominance, template.context.btc_dominance_ts
    if dom is not None and dom_ts is not None:
        columns.append(np.searchsorted(dom_ts, times - DAY_MS, side="right"))
    _, first, inverse = np.unique(np.stack(columns, axis=1), axis=0, return_index=True, return_inverse=True)
    series = template.series if is_btc else {}
    results = [
        BtcDominance().evaluate(
            AnalysisContext(MarketSnapshot(template.symbol, int(times[i]), series, context=template.context))
        )
        for i in first.tolist()
    ]
    bound = _results_bound(results, inverse.reshape(-1))
    bound.veto = np.array([r.veto is not None for r in results], dtype=bool)[inverse.reshape(-1)]
    return bound


def _constant_layers(template: MarketSnapshot, size: int) -> tuple[Bound, Bound]:
    """Layers 5 and 8 read the context's sentiment and the book, the same at every step here: the real
    layers' results, except sentiment with data, which also reads the entry structure (OPEN)."""
    ctx = AnalysisContext(
        MarketSnapshot(template.symbol, 0, {}, book=template.book, context=template.context)
    )
    book = _results_bound([OrderBookDepth().evaluate(ctx)], np.zeros(size, dtype=np.int64))
    if template.context.fear_greed is None and template.context.funding_rate is None:
        return _results_bound([Sentiment().evaluate(ctx)], np.zeros(size, dtype=np.int64)), book
    return Bound.fill(OPEN, size), book


def _results_bound(results: list[LayerResult], inverse: IntArray) -> Bound:
    kind = np.array([_KIND[r.vote] for r in results], dtype=np.int8)[inverse]
    return Bound(kind, np.array([r.score for r in results])[inverse])


def _session_bound(template: MarketSnapshot, times: IntArray) -> Bound:
    """L10 reads the hour and the weekday only: evaluated once per hour of the week."""
    hour_of_week = ((times // 3_600_000) + 72) % 168
    _, first, inverse = np.unique(hour_of_week, return_index=True, return_inverse=True)
    results = [
        SessionContext().evaluate(AnalysisContext(MarketSnapshot(template.symbol, int(times[i]), {})))
        for i in first.tolist()
    ]
    return _results_bound(results, inverse.reshape(-1))


# ----------------------------------------------------------------------------- the entry history


class _History:
    """The entry timeframe's window facts for every window end n = 0..N (n closed candles)."""

    def __init__(self, series: CandleSeries, window: int, k: int) -> None:
        self.ts = series.ts
        self.open_, self.high, self.low, self.close, self.volume = (
            series.open,
            series.high,
            series.low,
            series.close,
            series.volume,
        )
        self.N = len(series)
        self.W = window
        self.k = k
        self.ns = np.arange(self.N + 1)
        self.s = np.maximum(self.ns - window, 0)
        self.pivots = swings.find_pivots(self.high, self.low, k)
        self.hi_first, self.hi_last = self._window_positions(self.pivots.high_idx)
        self.lo_first, self.lo_last = self._window_positions(self.pivots.low_idx)
        self._sfps: dict[int, tuple[FloatArray, BoolArray]] = {}

    def _window_positions(self, idx: IntArray) -> tuple[IntArray, IntArray]:
        """Positions [first, last] into `idx` of the pivots inside each window: [s + k, n - 1 - k]."""
        first = np.searchsorted(idx, self.s + self.k, side="left")
        last = np.searchsorted(idx, self.ns - 1 - self.k, side="right") - 1
        return first, last

    @cached_property
    def volume_sums(self) -> _Sums:
        return _Sums(self.volume)

    @cached_property
    def last_low_pivot(self) -> IntArray:
        """The window's latest swing-low index, or -1."""
        return self._latest(self.pivots.low_idx, self.lo_first, self.lo_last)

    def _latest(self, idx: IntArray, first: IntArray, last: IntArray) -> IntArray:
        if idx.shape[0] == 0:
            return np.full(self.N + 1, -1, dtype=np.int64)
        return np.where(last >= first, idx[np.clip(last, 0, idx.shape[0] - 1)], -1)

    # ---- market structure (L1), exact

    @cached_property
    def bullish_breaks(self) -> list[tuple[int, float, int]]:
        """The history's first closes above each swing high (structure's and order blocks' breaks)."""
        p = self.pivots
        return first_crosses(p.high_idx, p.high_px, self.close, self.k, True)

    @cached_property
    def true_range(self) -> FloatArray:
        return indicators.true_range(self.high, self.low, self.close)

    @property
    def state(self) -> npt.NDArray[np.int8]:
        """Per n: the window's trend state (`Structure.state`)."""
        return self._structure[0]

    @cached_property
    def _structure(self) -> tuple[npt.NDArray[np.int8], BoolArray, BoolArray]:
        """Per n: the window's trend state, a fresh bullish CHoCH, a fresh bullish break."""
        p, k, ns = self.pivots, self.k, self.ns
        events = sorted(
            [(bar, 1, ref) for bar, _, ref in self.bullish_breaks]
            + [(bar, 0, ref) for bar, _, ref in first_crosses(p.low_idx, p.low_px, self.close, k, False)]
        )  # analyse_structure's order: by bar, "bearish" before "bullish"
        state = self._pattern()
        if not events:
            none = np.zeros(self.N + 1, dtype=bool)
            return state, none, none
        bars = np.array([e[0] for e in events], dtype=np.int64)
        bull = np.array([e[1] for e in events], dtype=bool)
        last = np.full(self.N + 1, -1, dtype=np.int64)
        prev = np.full(self.N + 1, -1, dtype=np.int64)
        # an event is one of window n's breaks for n in (bar, ref + W - k]: its pivot is in the window
        for i, (bar, _, ref) in enumerate(events):
            lo, hi = bar + 1, min(ref + self.W - k, self.N)
            if lo <= hi:
                prev[lo : hi + 1] = last[lo : hi + 1]
                last[lo : hi + 1] = i
        has = last >= 0
        li, pi = np.maximum(last, 0), np.maximum(prev, 0)
        last_bull = has & bull[li]
        last_bar = bars[li]
        choch = has & (prev >= 0) & (bull[pi] != bull[li])
        latest_high = self._latest(p.high_idx, self.hi_first, self.hi_last)
        latest_low = self._latest(p.low_idx, self.lo_first, self.lo_last)
        confirm = np.maximum(
            np.where(latest_high >= 0, latest_high + k, -1), np.where(latest_low >= 0, latest_low + k, -1)
        )
        flip = has & choch & (last_bar > confirm)
        state = np.where(flip, np.where(last_bull, _BULL, _BEAR), state).astype(np.int8)
        fresh = has & last_bull & (last_bar >= ns - structure.FRESH_BARS)
        return state, fresh & choch, fresh

    def _pattern(self) -> npt.NDArray[np.int8]:
        """`pattern_of` the window's pivots: HH+HL bullish, LH+LL bearish, else a range."""
        p = self.pivots
        two = (self.hi_last - self.hi_first >= 1) & (self.lo_last - self.lo_first >= 1)
        out = np.full(self.N + 1, _STATE["RANGE"], dtype=np.int8)
        if not two.any():
            return out
        hl, ll = self.hi_last[two], self.lo_last[two]
        hh = p.high_px[hl] > p.high_px[hl - 1]
        lh = p.high_px[hl] < p.high_px[hl - 1]
        hl_ = p.low_px[ll] > p.low_px[ll - 1]
        lls = p.low_px[ll] < p.low_px[ll - 1]
        out[two] = np.where(hh & hl_, _BULL, np.where(lh & lls, _BEAR, _STATE["RANGE"]))
        return out

    def structure_bound(self, n: IntArray, h4: npt.NDArray[np.int8], d1: npt.NDArray[np.int8]) -> Bound:
        state, choch, fresh = self.state[n], self._structure[1][n], self._structure[2][n]
        entry_bull = (state == _BULL) | choch
        score = structure.structure_score(entry_bull, h4 == _BULL, d1 == _BULL, choch | fresh)
        agree = entry_bull & (h4 != _BEAR)
        against = ~agree & (state == _BEAR) & (h4 == _BEAR)
        kind = np.where(agree, AGREE, np.where(against, AGAINST, NEUTRAL)).astype(np.int8)
        return Bound(kind, score + SCORE_ROUNDING)

    # ---- ATR and the volume median per window

    @cached_property
    def atr_series(self) -> FloatArray:
        """The SMA(14) of true range at each candle as a window's `Frame.atr_series` shows it: exactly
        these sums in windows that start at 0, within rounding 14 or more candles after a window's start
        (the only places read here). Rolling sums: no error carried over from the history's start."""
        tr = self.true_range
        span = 14
        out = np.cumsum(tr[:span]) / np.arange(1, min(span, tr.shape[0]) + 1)
        if tr.shape[0] > span:
            out = np.concatenate((out[: span - 1], sliding_window_view(tr, span).sum(axis=1) / span))
        return out

    @cached_property
    def window_range(self) -> FloatArray:
        """Per n: the sum of the window's true ranges (an upper bound), which scales a window's own
        rounding of its running sums."""
        return _Sums(self.true_range)(self.s, self.ns)[0]

    def trusted_atr(self, atr: FloatArray, n: IntArray) -> BoolArray:
        """Where an SMA(14) value is within EPS of a window n's own (a difference of its running sums,
        whose rounding grows with the window's total range): the 14 ranges are not tiny against it."""
        return atr * 14 >= 2e-5 * self.window_range[n]

    @cached_property
    def atr(self) -> FloatArray:
        """Per n: the window's ATR (`Frame.atr`, with its fallback when the last ranges are all zero)."""
        raw = self._raw_atr
        last = np.concatenate(([0.0], self.close))
        return np.where(raw > 0.0, raw, np.maximum(np.abs(last) * 1e-4, 1e-12))

    @cached_property
    def atr_trusted(self) -> BoolArray:
        """Per n: whether `atr` is within EPS of the window's own value."""
        raw = self._raw_atr
        return self.trusted_atr(raw, self.ns) | (self.ns <= 14) | (raw == 0.0)

    @cached_property
    def _raw_atr(self) -> FloatArray:
        return np.concatenate(([0.0], self.atr_series))

    @cached_property
    def median(self) -> FloatArray:
        """Per n: `Frame.volume_median`, the median of the window's last 100 volumes."""
        span, v = volume.LOOKBACK, self.volume
        out = np.zeros(self.N + 1)
        for n in range(1, min(self.N, span - 1) + 1):
            out[n] = indicators.median(v[:n])
        if span <= self.N:
            out[span:] = np.median(sliding_window_view(v, span), axis=1)
        return out

    # ---- liquidity & SFP (L2): a bullish SFP of quality on the last 3 candles or the last 4h candle

    def sfps(self, lookback: int) -> tuple[FloatArray, BoolArray]:
        """Per n: a bound on the best bullish SFP quality on the window's last `lookback` candles (-1:
        none), and whether any bullish SFP exists there (`Frame.sfps`).

        A swing low p can only be swept-and-reclaimed by its first sweep candle j (the first later low
        under it); it counts in window n if confirmed before j (p + k < j), reclaimed (close[j] above
        it), j is one of the last `lookback` candles and p lies in the window. The SFP's level is the
        lowest such pivot of the window, whose depth sets the quality."""
        found_before = self._sfps.get(lookback)
        if found_before is not None:
            return found_before
        k, W, N = self.k, self.W, self.N
        idx, px = self.pivots.low_idx, self.pivots.low_px
        sweep = _first_after(self.low, idx, px, below=True, span=W + lookback)
        ok = (sweep < N) & (sweep > idx + k)
        ok[ok] &= self.close[sweep[ok]] > px[ok]
        idx, px, sweep = idx[ok], px[ok], sweep[ok]
        level = np.full((N + 1, lookback), np.inf)
        for d in range(1, lookback + 1):
            n = sweep + d
            valid = (n <= N) & ((n <= W) | (idx >= n - W + k))
            np.minimum.at(level[:, d - 1], n[valid], px[valid])
        found = np.isfinite(level)
        quality = np.full((N + 1, lookback), -1.0)
        rows, cols = np.nonzero(found)
        if rows.shape[0]:
            j = rows - cols - 1
            lo, hi, cl = self.low[j], self.high[j], self.close[j]
            atr, trusted = self.atr[rows], self.atr_trusted[rows]
            med = self.median[rows]
            depth_atr = (level[rows, cols] - lo) / atr
            reaction = (cl - lo) / np.maximum(hi - lo, 1e-12)
            ratio = np.where(med > 0, self.volume[j] / np.where(med > 0, med, 1.0), 1.0)
            q = sfp_quality(depth_atr, reaction, ratio, lo=np.minimum, hi=np.maximum)
            quality[rows, cols] = np.where(trusted, q, 100.0)
        result = self._sfps[lookback] = (quality.max(axis=1), found.any(axis=1))
        return result

    @staticmethod
    def liquidity_bound(best_quality: FloatArray) -> Bound:
        maybe = _above(best_quality, liquidity.MIN_QUALITY)
        return _may_agree(maybe, liquidity.sfp_score(np.minimum(best_quality, 100.0) * (1 + EPS), 1.0))

    # ---- order blocks & FVG (L3)

    def order_block_bound(self, n: IntArray, aligned: BoolArray, sfp: BoolArray) -> Bound:
        plain, with_alignment = self._blocks
        imp, imp_vol = self._gaps
        block = np.where(aligned, with_alignment[n], plain[n])  # the best block's score bound, or -1
        grade_a = imp_vol[n] & aligned
        grade_b = (imp_vol[n] | (imp[n] & aligned)) & sfp
        gap = np.where(grade_a, ob_layer.GAP_SCORE["A"], np.where(grade_b, ob_layer.GAP_SCORE["B"], -1.0))
        best = np.maximum(block, gap)
        return _may_agree(best >= 0.0, best)

    @cached_property
    def _blocks(self) -> tuple[FloatArray, FloatArray]:
        """Per n, without / with HTF alignment: a bound on the best score of a bullish order block of
        the window that may have quality >= 45 and realism >= 0.5 (-1: none). Every break of the
        window counts, not only its last 8, and a candle two breaks share counts twice: more blocks,
        never fewer."""
        o, h, low, c, v, k, W, N = (
            self.open_,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.k,
            self.W,
            self.N,
        )
        crosses = self.bullish_breaks
        out = (np.full(N + 1, -1.0), np.full(N + 1, -1.0))
        if not crosses:
            return out
        b = np.array([x[0] for x in crosses], dtype=np.int64)
        ref = np.array([x[2] for x in crosses], dtype=np.int64)
        down = np.flatnonzero(c < o)
        at = np.searchsorted(down, b, side="right") - 1
        j = np.where(at >= 0, down[np.maximum(at, 0)] if down.shape[0] else 0, -1)
        ok = (at >= 0) & (j >= b - SEARCH_BACK) & (j < b)
        b, ref, j = b[ok], ref[ok], j[ok]
        if b.shape[0] == 0:
            return out
        z_low, z_high = low[j], h[j]
        top = np.array([h[a + 1 : z + 1].max() for a, z in zip(j.tolist(), b.tolist(), strict=True)])
        vsum = np.array([v[a + 1 : z + 1].sum() for a, z in zip(j.tolist(), b.tolist(), strict=True)])
        gap = np.array(
            [
                z - a >= 2 and bool((low[a + 2 : z + 1] > h[a : z - 1]).any())
                for a, z in zip(j.tolist(), b.tolist(), strict=True)
            ]
        )
        negated = _first_after(c, b, z_low, below=True, span=W)  # a close under the zone: the block failed
        touched = _first_after(low, b, z_high, below=True, span=W, inclusive=True)
        # window n holds the break (its pivot in the window) and the block candle; live until negated
        stop = np.minimum.reduce([ref + W - k, j + W, negated, np.full_like(b, N)])
        item, ns = _pairs(b + 1, stop)
        price = c[ns - 1]
        atr, trusted = self.atr[ns], self.atr_trusted[ns]
        med = self.median[ns]
        zl, zh = z_low[item], z_high[item]
        displacement = (top[item] - zh) / atr
        ratio = np.where(med > 0, vsum[item] / (b - j)[item] / np.where(med > 0, med, 1.0), 1.0)
        distance = np.maximum(price - zh, 0.0) / atr
        width_penalty = np.where((zh - zl) / atr > 3.0 * (1.0 + EPS), 0.7, 1.0)
        mitigated = touched[item] <= ns - 1
        real = np.exp(-distance / 3.0) * width_penalty * np.where(mitigated, 0.85, 1.0)
        live = (price >= zl) & (_above(real, ob_layer.MIN_REALISM) | ~trusted)
        for aligned, best in ((False, out[0]), (True, out[1])):
            q = block_quality(displacement, ratio, gap[item], aligned, lo=np.minimum, hi=np.maximum)
            ok = live & (_above(q, ob_layer.MIN_OB_QUALITY) | ~trusted)
            score = np.where(trusted, ob_layer.block_score(q, np.minimum(real, 1.0)) * (1 + EPS), 1.0)
            np.maximum.at(best, ns[ok], score[ok])
        return out

    @cached_property
    def _gaps(self) -> tuple[BoolArray, BoolArray]:
        """Per n: whether the window has a recent unfilled bullish FVG that price is in or just above
        and whose middle candle may be impulsive; and, of those, one on a volume spike."""
        o, h, low, c, v, N = self.open_, self.high, self.low, self.close, self.volume, self.N
        out = (np.zeros(N + 1, dtype=bool), np.zeros(N + 1, dtype=bool))
        if N < 3:
            return out
        third = np.arange(2, N)
        keep = (low[third] > h[third - 2]) & (c[third - 1] > o[third - 1])
        third = third[keep]
        lo, hi = h[third - 2], low[third]
        filled = _first_after(low, third, lo, below=True, span=gaps.RECENT, inclusive=True)
        item, ns = _pairs(third + 1, np.minimum(third + gaps.RECENT, np.minimum(filled, N)))
        mid = third[item] - 1
        atr_mid = self.atr_series[mid - 1]
        body = np.abs(c[mid] - o[mid])
        impulsive = _above(body, gaps.IMPULSE_ATR * atr_mid) | ~self.trusted_atr(atr_mid, ns)
        price = c[ns - 1]
        atr, trusted = self.atr[ns], self.atr_trusted[ns]
        near = (price * (1.0 + EPS) >= lo[item] - 0.25 * atr * (1.0 + EPS)) & (
            price * (1.0 - EPS) <= hi[item] + 0.5 * atr * (1.0 + EPS)
        )
        near = impulsive & (near | ~trusted)
        med = self.median[ns]
        spike = (med > 0) & _above(v[mid], gaps.VOLUME_SPIKE * med)
        out[0][ns[near]] = True
        out[1][ns[near & spike]] = True
        return out

    # ---- volume (L4)

    def volume_bound(self, n: IntArray) -> Bound:
        """Exact where the sums are trusted and no threshold is within rounding; OPEN otherwise."""
        v, c, o, s = self.volume, self.close, self.open_, self.s[n]
        length = n - s
        last = v[np.maximum(n - 1, 0)]
        span = np.minimum(length, volume.LOOKBACK)
        rel_pct = self._below_last(n, span) / np.maximum(span - 1, 1)
        bars = np.minimum(length, volume.PRESSURE_BARS)
        up_sums = _Sums(np.where(c >= o, v, 0.0))
        down_sums = _Sums(np.where(c < o, v, 0.0))
        up, up_ok = up_sums(n - bars, n)
        down, down_ok = down_sums(n - bars, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            pressure = np.where(down > 0, up / down, np.where(up > 0, 3.0, 1.0))
        leg = self.last_low_pivot[n]
        leg = np.where(leg >= 0, leg, np.maximum(n - volume.PRESSURE_BARS, s))
        leg_sum, leg_ok = self.volume_sums(np.minimum(leg, n), n)
        leg_vol = np.where(leg < n, leg_sum / np.maximum(n - leg, 1), last)
        med = self.median[n]
        impulse = np.where(med > 0, leg_vol / np.where(med > 0, med, 1.0), 1.0)
        score = volume.volume_score(pressure, impulse, rel_pct, lo=np.minimum)
        green = c[np.maximum(n - 1, 0)] >= o[np.maximum(n - 1, 0)]
        strong = (rel_pct >= volume.HIGH_PERCENTILE) & green
        maybe = _above(pressure, volume.BUYERS_LEAD) & (_above(impulse, volume.IMPULSE_LEAD) | strong)
        trusted = up_ok & down_ok & leg_ok
        against = pressure * (1 + EPS) <= volume.SELLERS_LEAD
        bound = _may_agree(maybe, score * (1 + EPS))
        bound.kind[~maybe & against] = AGAINST
        bound.kind[~trusted] = OPEN
        bound.kind[length < ENTRY_MIN_CANDLES] = ABSTAIN
        return bound

    def _below_last(self, n: IntArray, span: IntArray) -> IntArray:
        """How many of the `span - 1` volumes before the last one of window n are below it."""
        v, lookback = self.volume, volume.LOOKBACK
        out = np.zeros(n.shape[0], dtype=np.int64)
        full = span == lookback
        if full.any() and lookback <= self.N:
            rows = sliding_window_view(v, lookback)[n[full] - lookback]
            out[full] = np.count_nonzero(rows[:, :-1] < rows[:, -1:], axis=1)
        for i in np.flatnonzero(~full & (span > 0)).tolist():
            window = v[n[i] - span[i] : n[i]]
            out[i] = np.count_nonzero(window[:-1] < window[-1])
        return out

    # ---- Fibonacci (L6): the golden pocket of the last impulse leg

    def fibonacci_bound(self, n: IntArray) -> Bound:
        p = self.pivots
        has_high = (self.hi_last >= self.hi_first)[n]
        size = n.shape[0]
        kind = np.full(size, ABSTAIN, dtype=np.int8)
        if p.high_idx.shape[0] == 0 or p.low_idx.shape[0] == 0:
            return Bound(kind, np.ones(size))
        top = p.high_idx[np.clip(self.hi_last[n], 0, p.high_idx.shape[0] - 1)]
        pos = np.searchsorted(p.low_idx, top, side="left") - 1
        leg = has_high & (pos >= self.lo_first[n]) & (pos >= 0)
        rows = np.flatnonzero(leg)
        lo_idx = p.low_idx[np.maximum(pos[rows], 0)]
        low = self.low[lo_idx]
        high = _range_max(self.high, lo_idx, n[rows])
        valid = high > low
        rows, low, high = rows[valid], low[valid], high[valid]
        r = (high - self.close[n[rows] - 1]) / (high - low)
        pocket = (r >= fibonacci.GP_LOW - EPS) & (r <= fibonacci.GP_HIGH + EPS)
        kind[rows] = np.where(pocket, AGREE, np.where(r > 1.0 + EPS, AGAINST, NEUTRAL))
        return Bound(kind, np.ones(size))  # the golden pocket's score is 1

    # ---- indicators (L7): not bounded beyond its abstention

    def indicator_bound(self, n: IntArray) -> Bound:
        """Agreeing needs RSI under 70 and either a bullish divergence (two falling swing lows in the
        RSI's window) or the EMA trend up (EMA20 over EMA50, price over EMA50): where neither can be,
        it cannot agree."""
        length = np.minimum(n, self.W)
        e20, e50, rsi = self._ema(n, span=20), self._ema(n, span=50), self._rsi(n)
        last = self.close[np.maximum(n - 1, 0)]
        trend = (e20 * (1 + EPS) > e50 * (1 - EPS)) & (last * (1 + EPS) > e50 * (1 - EPS))
        overbought = rsi * (1 + EPS) - EPS >= indicators_layer.OVERBOUGHT
        p = self.pivots
        start = n - np.minimum(length, indicators_layer.WINDOW)
        falling = np.zeros(n.shape[0], dtype=bool)
        two = (self.lo_last - self.lo_first >= 1)[n]
        if two.any():
            last_low, prev_low = self.lo_last[n][two], self.lo_last[n][two] - 1
            b, a = p.low_idx[last_low], p.low_idx[prev_low]
            falling[two] = (a >= start[two]) & (self.low[b] < self.low[a])
        maybe = ~overbought & (trend | falling)
        score = np.maximum(
            indicators_layer.indicator_score(True, falling, trend), indicators_layer.AGREE_FLOOR
        )
        bound = _may_agree(maybe, score)
        bound.kind[~maybe & (rsi * (1 - EPS) - EPS >= indicators_layer.OVERBOUGHT)] = AGAINST
        bound.kind[length < indicators_layer.MIN_CANDLES] = ABSTAIN
        return bound

    def _ema(self, n: IntArray, span: int) -> FloatArray:
        """Per step: `ema(close[-WINDOW:], span)[-1]` of the window ending at n."""
        return self._smoothed(self.close, n, 2.0 / (span + 1.0), seeded=True)

    def _rsi(self, n: IntArray) -> FloatArray:
        """Per step: the window's last RSI (`indicators.rsi` over its last WINDOW closes)."""
        move = np.diff(self.close, prepend=self.close[:1])
        alpha = 1.0 / indicators_layer.RSI_PERIOD
        gain = self._smoothed(np.maximum(move, 0.0), n, alpha, seeded=False)
        loss = self._smoothed(np.maximum(-move, 0.0), n, alpha, seeded=False)
        total = gain + loss
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(total > 0.0, 100.0 * gain / np.where(total > 0.0, total, 1.0), 50.0)
        return np.clip(out, 0.0, 100.0)

    def _smoothed(self, x: FloatArray, n: IntArray, alpha: float, seeded: bool) -> FloatArray:
        """The EMA of x over the window's last WINDOW values, at its end, for every n: seeded with the
        slice's first value (or, `seeded=False`, with 0: the first price move of a slice is none)."""
        span = indicators_layer.WINDOW
        out = np.zeros(n.shape[0])
        length = np.minimum(np.minimum(n, self.W), span)
        full = length == span
        d = 1.0 - alpha
        if full.any():
            weights = alpha * d ** np.arange(span - 1, -1, -1, dtype=np.float64)
            weights[0] = d ** (span - 1) if seeded else 0.0
            ends = np.convolve(x, weights[::-1], mode="valid")  # ends[i]: the window x[i : i + span]
            out[full] = ends[n[full] - span]
        for i in np.flatnonzero(~full & (length > 0)).tolist():
            part = x[n[i] - length[i] : n[i]].copy()
            if not seeded:
                part[0] = 0.0
            out[i] = indicators.ema(part, alpha=alpha)[-1]
        return out

    # ---- VWAP (L9)

    def vwap_bound(self, n: IntArray) -> Bound:
        ts, s = self.ts, self.s[n]
        typical = (self.high + self.low + self.close) / 3.0
        pv = _Sums(typical * self.volume)
        day = (ts[np.maximum(n - 1, 0)] // DAY_MS) * DAY_MS
        session = np.maximum(np.searchsorted(ts, day, side="left"), s)
        anchor = self.last_low_pivot[n]
        price = self.close[np.maximum(n - 1, 0)]
        sides = []
        for start, present in (
            (session, np.ones(n.shape[0], dtype=bool)),
            (np.maximum(anchor, 0), anchor >= 0),
        ):
            start = np.minimum(start, n)
            weight, w_ok = self.volume_sums(start, n)
            value, v_ok = pv(start, n)
            exists = present & (weight > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                level = np.where(exists, value / np.where(weight > 0, weight, 1.0), 0.0)
            clear = np.abs(price - level) > EPS * np.abs(level)
            trusted = ~present | (w_ok & (~exists | (v_ok & clear)))
            sides.append((exists, exists & (price > level), exists & (price < level), trusted))
        (s_in, s_up, s_down, s_ok), (a_in, a_up, a_down, a_ok) = sides
        agree = s_up & (a_up | ~a_in)
        against = (s_down | a_down) & ~(s_up | a_up)
        trusted = s_ok & a_ok
        kind = np.where(agree, AGREE, np.where(against, AGAINST, NEUTRAL))
        kind = np.where(~s_in & ~a_in, ABSTAIN, kind)
        kind = np.where(trusted, kind, OPEN).astype(np.int8)
        kind[np.minimum(n, self.W) < ENTRY_MIN_CANDLES] = ABSTAIN
        return Bound(kind, np.full(n.shape[0], 0.8 + SCORE_ROUNDING))
