"""`analyse(snapshot) -> Verdict`: the 11 layers, ELE and Stage 1 confluence. Pure and deterministic."""

from __future__ import annotations

from collections.abc import Mapping

from qari.analysis.confluence import PRICE_ACTION, decide, weighted_score
from qari.analysis.context import AnalysisContext, BtcFrames, btc_frames_for
from qari.analysis.ele import detect_ele
from qari.analysis.layer import LayerResult, Vote
from qari.analysis.layers import LAYERS
from qari.analysis.verdict import Candidate, Verdict
from qari.analysis.weights import WeightSet, stage1
from qari.core.market import MarketSnapshot

__all__ = ["Candidate", "LayerResult", "Verdict", "Vote", "WeightSet", "analyse", "analyse_many", "screen"]

_TRIGGERS = tuple(layer for layer in LAYERS if layer.code in PRICE_ACTION)
_REST = tuple(layer for layer in LAYERS if layer.code not in PRICE_ACTION)


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


def screen(snapshot: MarketSnapshot, weights: WeightSet | None = None) -> Verdict:
    """`analyse` for callers that act only on candidates (the backtester): the same candidate, at a
    fraction of the cost when there is none.

    Confluence never makes a candidate without an agreeing price-action trigger (layers 2, 3, 6), so
    those run first; when none agrees, the verdict stops there (`screened`, with just those layers).
    Otherwise the other layers run and the verdict is exactly `analyse`'s. Layers are pure, so the
    order they run in changes nothing.
    """
    ctx = AnalysisContext(snapshot)
    weights = weights or stage1()
    first = {layer.code: layer.evaluate(ctx) for layer in _TRIGGERS}
    if not any(r.vote == Vote.AGREE for r in first.values()):
        results = tuple(first.values())
        return Verdict(ctx.symbol, ctx.at_ms, results, weighted_score(results, weights), 0, (), None, True)
    by_code = first | {layer.code: layer.evaluate(ctx) for layer in _REST}
    ordered = tuple(by_code[layer.code] for layer in LAYERS)
    ele = detect_ele(ctx.entry, ctx.snapshot.context.open_interest)
    return decide(ctx, ordered, weights, ele)
