"""`analyse(snapshot) -> Verdict`: the 11 layers, ELE and Stage 1 confluence. Pure and deterministic."""

from __future__ import annotations

from qari.analysis.confluence import decide
from qari.analysis.context import AnalysisContext
from qari.analysis.ele import detect_ele
from qari.analysis.layer import LayerResult, Vote
from qari.analysis.layers import LAYERS
from qari.analysis.verdict import Candidate, Verdict
from qari.analysis.weights import WeightSet, stage1
from qari.core.market import MarketSnapshot

__all__ = ["Candidate", "LayerResult", "Verdict", "Vote", "WeightSet", "analyse"]


def analyse(snapshot: MarketSnapshot, weights: WeightSet | None = None) -> Verdict:
    """Analyse one symbol as of `snapshot.at_ms`; only candles closed by then are read."""
    ctx = AnalysisContext(snapshot)
    results = tuple(layer.evaluate(ctx) for layer in LAYERS)
    ele = detect_ele(ctx.entry, snapshot.context.open_interest)
    return decide(ctx, results, weights or stage1(), ele)
