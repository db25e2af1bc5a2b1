"""`analyse(snapshot) -> Verdict`: the 11 layers, ELE and Stage 1 confluence. Pure and deterministic."""

from __future__ import annotations

from collections.abc import Mapping

from qari.analysis.confluence import CandidateBound, decide, weighted_score
from qari.analysis.context import AnalysisContext, BtcFrames, btc_frames_for
from qari.analysis.ele import detect_ele
from qari.analysis.features import Histories
from qari.analysis.layer import LayerResult, Vote
from qari.analysis.layers import LAYERS, liquidity
from qari.analysis.verdict import Candidate, Verdict
from qari.analysis.weights import WeightSet, stage1
from qari.core.market import MarketSnapshot

__all__ = ["Candidate", "LayerResult", "Verdict", "Vote", "WeightSet", "analyse", "analyse_many", "screen"]

# Cheapest first (measured on real candles); the costly structure, SFP and order-block work comes last.
_SCREEN_RANK = (11, 10, 9, 4, 6, 5, 8, 3, 2, 7, 1)
_SCREEN_ORDER = tuple(sorted(LAYERS, key=lambda layer: _SCREEN_RANK.index(layer.code)))
# Necessary conditions for a layer to agree, far cheaper than evaluating it.
_AGREE_PROBES = ((liquidity.CODE, liquidity.could_agree),)


def analyse(snapshot: MarketSnapshot, weights: WeightSet | None = None) -> Verdict:
    """Analyse one symbol as of `snapshot.at_ms`; only candles closed by then are read."""
    return _analyse(AnalysisContext(snapshot), weights)


def analyse_many(
    snapshots: Mapping[str, MarketSnapshot], weights: WeightSet | None = None
) -> dict[str, Verdict]:
    """`analyse` for many symbols; BTC's frames are computed once per (BTC series, time) and shared.

    Results are identical to calling `analyse` on each snapshot.
    """
    shared: dict[tuple[int, int], BtcFrames] = {}
    out: dict[str, Verdict] = {}
    for symbol, snap in snapshots.items():
        btc = snap.context.btc
        key = (id(btc), snap.at_ms)
        if btc is not None and key not in shared:
            shared[key] = btc_frames_for(btc, snap.at_ms)
        out[symbol] = _analyse(AnalysisContext(snap, shared.get(key) if btc is not None else None), weights)
    return out


def _analyse(ctx: AnalysisContext, weights: WeightSet | None) -> Verdict:
    results = tuple(layer.evaluate(ctx) for layer in LAYERS)
    ele = detect_ele(ctx.entry, ctx.snapshot.context.open_interest)
    return decide(ctx, results, weights or stage1(), ele)


def screen(
    snapshot: MarketSnapshot, weights: WeightSet | None = None, histories: Histories | None = None
) -> Verdict:
    """`analyse` for callers that act only on candidates (the backtester): the same candidate, at a
    fraction of the cost when there is none.

    Layers run cheapest first and stop as soon as confluence can no longer make a candidate whatever
    the remaining layers say (`CandidateBound`): a veto, too few layers left to agree, no
    price-action trigger left, or a score that cannot reach the threshold. Layer 1's veto (daily and
    4h bearish) is read first from the cached higher-timeframe frames, and a layer whose cheap
    `could_agree` probe says no counts as at best abstaining. A stopped verdict is `screened` and
    holds just the layers that ran; otherwise every layer ran and the verdict is exactly `analyse`'s.
    Layers are pure, so the order they run in changes nothing. `histories`: whole-series features
    kept between calls over the same series (`AnalysisContext`).
    """
    ctx = AnalysisContext(snapshot, histories=histories)
    weights = weights or stage1()
    done: dict[int, LayerResult] = {}
    bound = CandidateBound(weights)
    # Without an entry frame no trigger can agree.
    if ctx.entry is not None and not ctx.htf_bearish and _run_while_possible(ctx, bound, done):
        ordered = tuple(done[layer.code] for layer in LAYERS)
        return decide(ctx, ordered, weights, detect_ele(ctx.entry, ctx.snapshot.context.open_interest))
    results = tuple(done[layer.code] for layer in LAYERS if layer.code in done)
    return Verdict(ctx.symbol, ctx.at_ms, results, weighted_score(results, weights), 0, (), None, True)


def _run_while_possible(ctx: AnalysisContext, bound: CandidateBound, done: dict[int, LayerResult]) -> bool:
    """Evaluate the layers cheapest first into `done` while a candidate stays possible; True if it still is
    once all have run."""
    for code, could_agree in _AGREE_PROBES:
        if not could_agree(ctx):
            bound.cannot_agree(code)
    for layer in _SCREEN_ORDER:
        if not bound.possible():
            return False
        done[layer.code] = r = layer.evaluate(ctx)
        bound.add(r)
    return bound.possible()
