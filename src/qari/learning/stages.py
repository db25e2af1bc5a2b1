"""Stage 2 (re-weighted layers) and Stage 3 (LightGBM) trained on labelled samples, and how a stage
picks trades. A sample holds layer features, a score and an R multiple only: no user, no amount.

Time discipline: a model used from time T is trained only on samples whose outcome was known by T
(`known_by`); Stage 3's folds are time-ordered (walk-forward), never shuffled.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qari.analysis.confluence import weighted_score
from qari.analysis.engine import analyse
from qari.analysis.layer import LayerResult, Vote
from qari.analysis.verdict import Verdict
from qari.analysis.weights import LAYER_CODES, WeightSet
from qari.core.market import MarketSnapshot

STAGE2_MIN_TRADES = 500  # closed consenting trades before Stage 2 may be fitted (PRODUCT.md §9)
SHRINK_SAMPLES = 200.0  # a layer's measured value counts half at this many samples on its smaller side
PERSONAL_SHRINK = 100.0  # a Premium user's own fit counts half at this many of their closed trades
VOTE_VALUE = {Vote.AGREE: 1.0, Vote.NEUTRAL: 0.0, Vote.AGAINST: -1.0, Vote.ABSTAIN: math.nan}
FOLDS = 4


@dataclass(frozen=True, slots=True)
class Sample:
    """One labelled candidate. `source` is "backtest" (public history, operator seed) or "live"."""

    symbol: str
    decided_ms: int
    outcome_ms: int
    layers: tuple[LayerResult, ...]
    r: float
    stop_distance: float
    reward_risk: float
    source: str = "backtest"

    def features(self) -> list[float]:
        votes = {x.layer: x for x in self.layers}
        row: list[float] = []
        for code in LAYER_CODES:
            x = votes.get(code)
            row += [VOTE_VALUE[x.vote], x.score] if x else [math.nan, math.nan]
        return [*row, self.stop_distance, self.reward_risk]


def known_by(samples: Sequence[Sample], at_ms: int) -> list[Sample]:
    """The samples a decision at `at_ms` may learn from: outcome known by then."""
    return [s for s in samples if s.outcome_ms <= at_ms]


@dataclass(frozen=True, slots=True)
class LayerValue:
    layer: int
    agree_n: int
    agree_avg_r: float
    agree_win: float
    other_n: int
    other_avg_r: float
    other_win: float


def layer_values(samples: Sequence[Sample]) -> list[LayerValue]:
    """Each layer's measured predictive value: average R and win rate when it agrees vs when not."""
    out = []
    for code in LAYER_CODES:
        yes = np.array([s.r for s in samples if _agrees(s, code)])
        no = np.array([s.r for s in samples if not _agrees(s, code)])
        out.append(LayerValue(code, len(yes), _mean(yes), _mean(yes > 0), len(no), _mean(no), _mean(no > 0)))
    return out


def _agrees(s: Sample, code: int) -> bool:
    return any(x.layer == code and x.vote == Vote.AGREE for x in s.layers)


def _mean(x: np.ndarray[Any, Any]) -> float:
    return float(x.mean()) if x.shape[0] else math.nan


def stage2_weights(samples: Sequence[Sample], base: WeightSet) -> WeightSet:
    """Per-layer points re-estimated from measured predictive value, shrunk toward Stage 1's.

    A layer whose agreement lifts average R by v gains the factor (1 + v), clipped to [0, 2]; the
    factor is shrunk toward 1 by n / (n + SHRINK_SAMPLES), n the smaller of its agree/not counts.
    """
    points = []
    for value in layer_values(samples):
        n = min(value.agree_n, value.other_n)
        lift = 0.0 if n == 0 else value.agree_avg_r - value.other_avg_r
        factor = min(max(1.0 + lift, 0.0), 2.0)
        trust = n / (n + SHRINK_SAMPLES)
        points.append(round(base.point(value.layer) * (1.0 + trust * (factor - 1.0)), 4))
    return WeightSet("stage2", tuple(points), base.threshold, base.min_agreeing, base.ele_min_agreeing)


def personal_weights(own: Sequence[Sample], collective: WeightSet, k: float = PERSONAL_SHRINK) -> WeightSet:
    """Premium: per-layer points fitted on the user's own closed trades (as Stage 2 does), shrunk
    toward the collective active weights by n / (n + k), n their number of trades."""
    fitted = stage2_weights(own, collective)
    trust = len(own) / (len(own) + k)
    points = tuple(
        round(c + trust * (f - c), 4) for c, f in zip(collective.points, fitted.points, strict=True)
    )
    return WeightSet(
        "personal", points, collective.threshold, collective.min_agreeing, collective.ele_min_agreeing
    )


@dataclass(slots=True)
class Stage3Model:
    """LightGBM on layer features predicting R > 0, isotonic-calibrated on walk-forward predictions;
    it scales the confluence score by calibrated probability / base rate.

    Held as data (LightGBM's model text and the calibration's thresholds, no pickle) so the registry
    stores exactly what `learn evaluate` scored with, and the engine and a replay score with the same."""

    model_text: str
    calibration_x: tuple[float, ...]
    calibration_y: tuple[float, ...]
    base_rate: float
    samples: int
    fold_auc: list[float] = field(default_factory=list)
    _booster: Any = field(default=None, repr=False, compare=False)

    def probability(self, rows: Sequence[Sequence[float]]) -> np.ndarray[Any, Any]:
        """Calibrated P(R > 0): the isotonic step function (clipped at its ends) over the raw score."""
        if self._booster is None:
            from lightgbm import Booster

            self._booster = Booster(model_str=self.model_text)
        raw = np.asarray(self._booster.predict(np.asarray(rows, dtype=float)), dtype=float)
        return np.interp(raw, self.calibration_x, self.calibration_y)

    def scale(self, score: float, probability: float) -> float:
        return min(max(score * probability / self.base_rate, 0.0), 1.0) if self.base_rate > 0 else score

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model_text, "calibration_x": list(self.calibration_x),
            "calibration_y": list(self.calibration_y), "base_rate": self.base_rate,
            "samples": self.samples, "fold_auc": list(self.fold_auc),
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stage3Model:
        return cls(
            str(data["model"]), tuple(float(x) for x in data["calibration_x"]),
            tuple(float(y) for y in data["calibration_y"]), float(data["base_rate"]),
            int(data["samples"]), [float(a) for a in data.get("fold_auc", [])],
        )  # fmt: skip


def candidate_features(verdict: Verdict) -> list[float] | None:
    """A candidate's Stage 3 features, built as `learn evaluate` builds a sample's (mid entry zone)."""
    c = verdict.candidate
    if c is None:
        return None
    entry = float(c.entry_low + c.entry_high) / 2
    stop, pt2 = float(c.stop), float(c.pt2)
    if entry <= 0 or stop >= entry:
        return None
    sample = Sample(
        verdict.symbol, verdict.at_ms, verdict.at_ms, verdict.layers, 0.0,
        round((entry - stop) / entry, 6), round((pt2 - entry) / (entry - stop), 4),
    )  # fmt: skip
    return sample.features()


def scored(verdict: Verdict, model: Stage3Model | None, weights: WeightSet) -> Verdict:
    """The verdict as Stage 3 sees it: a candidate's score scaled by `model.scale`; below the
    threshold it is no candidate. The one scoring path of the engine and of a replay."""
    features = None if model is None else candidate_features(verdict)
    if model is None or features is None or verdict.candidate is None:
        return verdict
    score = model.scale(verdict.score, float(model.probability([features])[0]))
    if score < weights.threshold:
        return dataclasses.replace(verdict, score=score, candidate=None)
    candidate = dataclasses.replace(verdict.candidate, score=score)
    return dataclasses.replace(verdict, score=score, candidate=candidate)


def _classifier() -> Any:
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        n_estimators=200, learning_rate=0.03, num_leaves=15, min_child_samples=40,
        subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=7, verbose=-1, n_jobs=1,
    )  # fmt: skip


def train_stage3(samples: Sequence[Sample], folds: int = FOLDS) -> Stage3Model | None:
    """Walk-forward: time-ordered folds; fold k is predicted by a model trained only on samples whose
    outcome was known before fold k began. Those out-of-fold predictions fit the isotonic calibration;
    the final model is trained on all samples. None with too few samples or a single class."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.metrics import roc_auc_score

    ordered = sorted(samples, key=lambda s: s.decided_ms)
    y = np.array([s.r > 0 for s in ordered], dtype=int)
    if len(ordered) < 100 or y.min() == y.max():
        return None
    x = np.array([s.features() for s in ordered], dtype=float)
    edges = np.linspace(0, len(ordered), folds + 2).astype(int)[1:]  # the first block only trains
    raw, truth, aucs = [], [], []
    for lo, hi in itertools.pairwise(edges):
        start = ordered[lo].decided_ms
        train = [i for i in range(lo) if ordered[i].outcome_ms <= start]
        if len(train) < 50 or y[train].min() == y[train].max():
            continue
        model = _classifier().fit(x[train], y[train])
        p = model.predict_proba(x[lo:hi])[:, 1]
        raw.append(p)
        truth.append(y[lo:hi])
        if y[lo:hi].min() != y[lo:hi].max():
            aucs.append(round(float(roc_auc_score(y[lo:hi], p)), 3))
    if not raw:
        return None
    calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    calibrator.fit(np.concatenate(raw), np.concatenate(truth))
    final = _classifier().fit(x, y)
    return Stage3Model(
        final.booster_.model_to_string(),
        tuple(float(v) for v in calibrator.X_thresholds_),
        tuple(float(v) for v in calibrator.y_thresholds_),
        float(y.mean()), len(ordered), aucs,
    )  # fmt: skip


def stage_score(sample: Sample, weights: WeightSet) -> float:
    return weighted_score(sample.layers, weights)


def analyse_scored(snapshot: MarketSnapshot, *, weights: WeightSet, model: Stage3Model | None) -> Verdict:
    """The engine's analysis: the layers with `weights`, then Stage 3's scaling when a model is active."""
    return scored(analyse(snapshot, weights), model, weights)
