"""Checking `analysis.sweep`'s per-layer bounds against the real layers' votes, shared by the
synthetic (property) and the real-data tests."""

from __future__ import annotations

import dataclasses

import numpy as np

from qari.analysis import sweep
from qari.analysis.engine import Verdict, Vote, analyse
from qari.core.market import MarketSnapshot

# What each bound allows the layer's real vote to be (OPEN allows anything).
ALLOWED = {
    sweep.AGREE: {Vote.AGREE, Vote.NEUTRAL, Vote.AGAINST},
    sweep.NEUTRAL: {Vote.NEUTRAL, Vote.AGAINST},
    sweep.AGAINST: {Vote.AGAINST},
    sweep.ABSTAIN: {Vote.ABSTAIN, Vote.NEUTRAL, Vote.AGAINST},
}


def check_steps(template: MarketSnapshot, times: list[int]) -> tuple[int, int]:
    """Assert, at each time, that every bound admits the real vote (and bounds an agreeing score), that
    a ruled-out step has no candidate; return (steps ruled out, candidates)."""
    at = np.asarray(times, dtype=np.int64)
    allowed, layers = sweep.layer_bounds(template, at)
    steps = sweep.candidate_steps(template, at)
    ruled_out = candidates = 0
    for i, t in enumerate(times):
        verdict = analyse(dataclasses.replace(template, at_ms=t))
        where = (template.symbol, t)
        if verdict.candidate is not None:
            candidates += 1
            assert steps[i], where
        ruled_out += not steps[i]
        if not allowed[i]:
            assert verdict.candidate is None, where
            continue
        assert not verdict.vetoes or verdict.vetoes == ("ele",), (where, verdict.vetoes)
        _check_layers(verdict, layers, i)
    return ruled_out, candidates


def _check_layers(verdict: Verdict, layers: dict[int, sweep.Bound], i: int) -> None:
    for r in verdict.layers:
        bound = layers[r.layer]
        kind = int(bound.kind[i])
        if kind == sweep.OPEN:
            continue
        assert r.vote in ALLOWED[kind], (verdict.symbol, verdict.at_ms, r.layer, kind, r.vote)
        if r.vote == Vote.AGREE:
            assert r.score <= bound.score[i], (verdict.symbol, verdict.at_ms, r.layer, r.score)
