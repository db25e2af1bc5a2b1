"""Candidate bounds over a whole history at once: at which cycle times `screen` could make a candidate.

A backtest asks `screen` the same question at every step of every pair, and almost always the answer
is no. `candidate_steps` answers "could it be yes?" for all steps of one symbol in one vectorised pass,
so that the backtester runs the real `screen` only where it may matter.

Sound, not exact: a step is ruled out only where one of `decide`'s necessary conditions provably fails
(a veto, no price-action trigger that could agree, fewer layers that could agree than the minimum, or a
best reachable score under the threshold). Each layer says per step what it can at best contribute
(its `bound`, in the layer's own file beside its `evaluate`, reading the per-candle arrays of
`analysis.features`); this module only combines them. The higher-timeframe facts (4h/1d structure,
the BTC veto, the 4h SFP) come from the same features of the 4h and 1d histories, and from the real
BTC layer evaluated once per distinct set of closed 4h/1d candles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qari.analysis.bounds import (
    ABSTAIN,
    AGAINST,
    AGREE,
    EPS,
    NEUTRAL,
    OPEN,
    SCORE_ROUNDING,
    TRUSTED,
    BoolArray,
    Bound,
)
from qari.analysis.confluence import AGAINST_COST, PRICE_ACTION, SCORE_SLACK
from qari.analysis.context import (
    ENTRY_MIN_CANDLES,
    ENTRY_SFP_CANDLES,
    ENTRY_TIMEFRAMES,
    H4_SFP_CANDLES,
    HTF_MIN_CANDLES,
    PIVOT_K,
    WINDOWS,
)
from qari.analysis.features import STATE_BEAR, STATE_BULL, STATE_NONE, History, closed_counts
from qari.analysis.layers import (
    btc_dominance,
    fibonacci,
    indicators,
    liquidity,
    order_blocks,
    order_book,
    sentiment,
    session,
    structure,
    volume,
    vwap,
)
from qari.analysis.primitives import swings
from qari.analysis.weights import WeightSet, stage1
from qari.core.market import CandleSeries, IntArray, MarketSnapshot

__all__ = [
    "ABSTAIN",
    "AGAINST",
    "AGREE",
    "EPS",
    "NEUTRAL",
    "OPEN",
    "SCORE_ROUNDING",
    "TRUSTED",
    "BoolArray",
    "Bound",
    "btc_bound",
    "candidate_steps",
    "layer_bounds",
    "possible",
]


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
    entry = History(series, WINDOWS.get(entry_tf, 300), PIVOT_K.get(entry_tf, swings.DEFAULT_K))
    n = closed_counts(series, times)
    htf = _HigherTimeframes(template, times)
    btc = btc if btc is not None else btc_bound(template, times)
    sfp_quality, sfp_found = entry.sfps(ENTRY_SFP_CANDLES)
    size = times.shape[0]
    layers = {
        structure.CODE: structure.bound(entry, n, htf.h4_state, htf.d1_state),
        liquidity.CODE: liquidity.bound(np.maximum(sfp_quality[n], htf.h4_sfp_quality)),
        order_blocks.CODE: order_blocks.bound(entry, n, htf.h4_bullish, sfp_found[n] | htf.h4_sfp),
        volume.CODE: volume.bound(entry, n),
        sentiment.CODE: sentiment.bound(template, size),
        fibonacci.CODE: fibonacci.bound(entry, n),
        indicators.CODE: indicators.bound(entry, n),
        order_book.CODE: order_book.bound(template, size),
        vwap.CODE: vwap.bound(entry, n),
        session.CODE: session.bound(template.symbol, times),
        btc_dominance.CODE: btc,
    }
    vetoed = htf.veto | (btc.veto if btc.veto is not None else False)
    return (np.minimum(n, entry.window) >= ENTRY_MIN_CANDLES) & ~vetoed, dict(sorted(layers.items()))


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


def btc_bound(template: MarketSnapshot, times: IntArray) -> Bound:
    """Layer 11 at each time (`btc_dominance.bound`), to share between the altcoins of one market."""
    return btc_dominance.bound(template, times)


class _HigherTimeframes:
    """The symbol's 4h/1d facts at each step, from the features of its 4h and 1d histories (exact
    structure states; the last 4h candle's SFP quality bounded like the entry's): the veto of layer 1,
    the states layer 1 scores, the alignment order blocks and gaps are graded by, the 4h SFP."""

    def __init__(self, template: MarketSnapshot, times: IntArray) -> None:
        states = []
        for tf in ("4h", "1d"):
            series: CandleSeries = template.series[tf]
            history = History(series, WINDOWS.get(tf, 300), PIVOT_K.get(tf, swings.DEFAULT_K))
            n = closed_counts(series, times)
            exists = np.minimum(n, history.window) >= HTF_MIN_CANDLES
            states.append(np.where(exists, history.state[n], STATE_NONE).astype(np.int8))
            if tf == "4h":
                quality, found = history.sfps(H4_SFP_CANDLES)
                self.h4_sfp_quality = np.where(exists, quality[n], -1.0)
                self.h4_sfp = exists & found[n]
        self.h4_state, self.d1_state = states
        self.veto = (self.h4_state == STATE_BEAR) & (self.d1_state == STATE_BEAR)
        self.h4_bullish = self.h4_state == STATE_BULL
