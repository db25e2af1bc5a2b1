"""Stage 1 confluence: fixed per-layer points, ≥ 3 agreeing layers (R5), vetoes and a threshold.

score = (Σ points × layer score over agreeing layers − ½ Σ points over layers voting against)
        / Σ points over layers that did not abstain, clipped to [0, 1].
Missing data neither helps nor hurts; evidence against a long costs half its points. Deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from qari.analysis.context import AnalysisContext
from qari.analysis.ele import Ele
from qari.analysis.explain import candidate_paragraph
from qari.analysis.layer import LayerResult, Vote
from qari.analysis.layers.structure import fresh_bullish_choch
from qari.analysis.setup_levels import trade_levels
from qari.analysis.verdict import Candidate, Verdict
from qari.analysis.weights import LAYER_CODES, WeightSet

PRICE_ACTION = (2, 3, 6)
AGAINST_COST = 0.5  # a candidate needs a trigger from liquidity/SFP, order blocks/FVG or Fibonacci


def to_price(x: float) -> Decimal:
    return Decimal(f"{x:.10g}")


def weighted_score(results: tuple[LayerResult, ...], weights: WeightSet) -> float:
    total = sum(weights.point(r.layer) for r in results if r.vote != Vote.ABSTAIN)
    if total <= 0:
        return 0.0
    got = sum(weights.point(r.layer) * r.score for r in results if r.vote == Vote.AGREE)
    lost = sum(weights.point(r.layer) for r in results if r.vote == Vote.AGAINST)
    return round(min(max((got - AGAINST_COST * lost) / total, 0.0), 1.0), 6)


SCORE_SLACK = 1e-6  # `weighted_score` rounds to 6 places: never rule out a score that rounds up


def could_still_pass(known: Mapping[int, LayerResult], weights: WeightSet) -> bool:
    """Whether `decide` could still make a candidate, whatever the layers not in `known` return."""
    bound = CandidateBound(weights)
    for r in known.values():
        bound.add(r)
    return bound.possible()


class CandidateBound:
    """An upper bound on each of `decide`'s conditions, updated as layer results arrive (`screen`).

    Possible while: no veto so far; enough layers agreed or left that may agree; a price-action trigger
    agreed or left that may agree; and the best reachable score clears the threshold, every remaining
    layer agreeing with score 1 (adding a ratio of 1 never lowers a ratio of at most 1) except those
    known unable to agree, which at best abstain.
    """

    __slots__ = ("agreed", "capped", "got", "left", "lost", "spare", "total", "trigger", "veto", "weights")

    def __init__(self, weights: WeightSet) -> None:
        self.weights = weights
        self.left = set(LAYER_CODES)
        self.capped: set[int] = set()  # left, but known unable to agree
        self.spare = sum(weights.points)  # points of the layers left that may still agree
        self.total = self.got = self.lost = 0.0
        self.agreed = 0
        self.trigger = self.veto = False

    def cannot_agree(self, code: int) -> None:
        if code in self.left and code not in self.capped:
            self.capped.add(code)
            self.spare -= self.weights.point(code)

    def add(self, r: LayerResult) -> None:
        point = self.weights.point(r.layer)
        if r.layer in self.left and r.layer not in self.capped:
            self.spare -= point
        self.left.discard(r.layer)
        self.capped.discard(r.layer)
        self.veto = self.veto or bool(r.veto)
        if r.vote != Vote.ABSTAIN:
            self.total += point
        if r.vote == Vote.AGREE:
            self.got += point * r.score
            self.agreed += 1
            self.trigger = self.trigger or r.layer in PRICE_ACTION
        elif r.vote == Vote.AGAINST:
            self.lost += point

    def possible(self) -> bool:
        w = self.weights
        open_ = self.left - self.capped
        if self.veto or self.agreed + len(open_) < min(w.min_agreeing, w.ele_min_agreeing):
            return False
        if not self.trigger and open_.isdisjoint(PRICE_ACTION):
            return False
        spare = max(self.spare, 0.0)
        total = spare + self.total
        if total <= 0:
            return w.threshold <= 0.0  # `weighted_score` is 0 when nothing voted
        return (spare + self.got - AGAINST_COST * self.lost) / total >= w.threshold - SCORE_SLACK


def decide(
    ctx: AnalysisContext, results: tuple[LayerResult, ...], weights: WeightSet, ele: Ele | None
) -> Verdict:
    score = weighted_score(results, weights)
    agreed = tuple(r.layer for r in results if r.vote == Vote.AGREE)
    vetoes = [r.veto for r in results if r.veto]
    setup = "continuation"
    needed = weights.min_agreeing
    if ele is not None:
        reversal = ctx.bullish_sfp is not None and ctx.entry is not None and fresh_bullish_choch(ctx.entry)
        if reversal:
            setup = "capitulation_reversal"
            needed = weights.ele_min_agreeing
        else:
            vetoes.append("ele")
    candidate = None
    trigger = any(code in agreed for code in PRICE_ACTION)
    if not vetoes and len(agreed) >= needed and score >= weights.threshold and trigger:
        levels = trade_levels(ctx)
        if levels is not None:
            candidate = Candidate(
                symbol=ctx.symbol,
                entry_low=to_price(levels.entry_low),
                entry_high=to_price(levels.entry_high),
                stop=to_price(levels.stop),
                pt1=to_price(levels.pt1),
                pt2=to_price(levels.pt2),
                explanation=candidate_paragraph(ctx.symbol, ctx.at_ms, results, score, levels, setup),
                layers_agreed=agreed,
                score=score,
                setup=setup,
            )
    return Verdict(ctx.symbol, ctx.at_ms, results, score, len(agreed), tuple(sorted(set(vetoes))), candidate)
