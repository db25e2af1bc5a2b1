"""What a layer can at best contribute at each step of a history: the `Bound` each layer's `bound`
returns, and the slack every vectorised comparison leans on.

A layer's `bound` (beside its `evaluate`, in the layer's own file) reads the per-candle arrays of
`analysis.features` and says, for every step at once, the best vote and score `evaluate` could give
there. `analysis.sweep` combines the bounds into "could `screen` make a candidate here?".

Sums over a history differ from a window's own sums in rounding only, so every comparison near a
threshold leans towards the better case (`EPS`), and a value whose rounding cannot be bounded that
tightly leaves its layer OPEN.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from qari.analysis.layer import LayerResult, Vote
from qari.core.market import FloatArray, IntArray

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
    "at_least",
    "may_agree",
    "results_bound",
]

BoolArray = npt.NDArray[np.bool_]

OPEN, AGREE, NEUTRAL, AGAINST, ABSTAIN = range(5)  # the best a layer can contribute at a step
EPS = 1e-7  # relative slack on every float comparison
TRUSTED = 1e-9  # a sum is used only where its rounding error is below this, relative
SCORE_ROUNDING = 1e-6  # layer scores are rounded to 6 significant digits, maybe upwards
KIND_OF_VOTE = {Vote.AGREE: AGREE, Vote.NEUTRAL: NEUTRAL, Vote.AGAINST: AGAINST, Vote.ABSTAIN: ABSTAIN}


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


def at_least(x: FloatArray, threshold: float | FloatArray) -> BoolArray:
    """x >= threshold, allowing for rounding (leans towards True)."""
    return x * (1.0 + EPS) + EPS >= threshold


def may_agree(maybe: BoolArray, score: FloatArray) -> Bound:
    """A layer that never abstains: at best agreeing with at most `score` where it `maybe` agrees,
    NEUTRAL elsewhere."""
    kind = np.where(maybe, AGREE, NEUTRAL).astype(np.int8)
    return Bound(kind, score + SCORE_ROUNDING)


def results_bound(results: list[LayerResult], result_at_step: IntArray) -> Bound:
    """The real layer's results, one per distinct input, spread over the steps that share each."""
    kind = np.array([KIND_OF_VOTE[r.vote] for r in results], dtype=np.int8)[result_at_step]
    return Bound(kind, np.array([r.score for r in results])[result_at_step])
