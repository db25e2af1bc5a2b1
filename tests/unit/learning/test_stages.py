"""Stage 2 shrinks toward Stage 1; Stage 3 trains walk-forward; no label is used before its outcome time."""

from __future__ import annotations

import datetime as dt
import random

from qari.analysis.layer import LayerResult, Vote
from qari.analysis.weights import stage1
from qari.learning import stages
from qari.learning.evaluate import evaluate
from qari.learning.stages import Sample, known_by, stage2_weights, train_stage3

HOUR = 3_600_000
T0 = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)


def sample(i: int, agree: set[int], r: float, lag: int = 10 * HOUR) -> Sample:
    layers = tuple(
        LayerResult(
            code, f"L{code}", Vote.AGREE if code in agree else Vote.NEUTRAL, 0.8 if code in agree else 0.2
        )
        for code in range(1, 12)
    )
    return Sample("X/USDT", T0 + i * HOUR, T0 + i * HOUR + lag, layers, r, 0.15, 2.5)


def planted(n: int, seed: int = 1) -> list[Sample]:
    """Layer 4 agreeing wins +2 R, otherwise -1 R; other layers are noise."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        agree = {c for c in (1, 2, 3, 5, 6, 7, 9, 10) if rng.random() < 0.5} | {2}
        four = rng.random() < 0.5
        out.append(sample(i, agree | ({4} if four else set()), 2.0 if four else -1.0))
    return out


def test_stage2_shrinks_toward_stage1_and_follows_the_measured_value() -> None:
    few = stage2_weights(planted(6), stage1())
    many = stage2_weights(planted(2000), stage1())
    base = stage1().point(4)
    assert abs(few.point(4) - base) < abs(many.point(4) - base)
    assert many.point(4) > 1.5 * base  # the layer carrying the edge gains weight
    assert abs(many.point(1) - stage1().point(1)) < 0.3 * stage1().point(1)  # noise stays near Stage 1


def test_known_by_holds_back_labels_until_their_outcome_time() -> None:
    s = [sample(0, {2}, 1.0, lag=5 * HOUR), sample(1, {2}, 1.0, lag=1 * HOUR)]
    assert known_by(s, T0 + 2 * HOUR) == [s[1]]
    assert known_by(s, T0 + 5 * HOUR) == s


def test_stage3_folds_never_train_on_outcomes_after_the_fold_starts() -> None:
    # every outcome lands after the last decision: no walk-forward fold may train on anything
    late = [
        sample(i, {2, 4} if i % 2 else {2}, 1.0 if i % 2 else -1.0, lag=10_000 * HOUR) for i in range(200)
    ]
    assert train_stage3(late) is None
    model = train_stage3(planted(500))
    assert model is not None and model.fold_auc[-1] > 0.9  # later folds, trained on more, find layer 4


def test_stage3_fold_training_sets_end_before_each_fold(monkeypatch: object) -> None:
    seen: list[tuple[int, int]] = []
    real = stages._classifier

    class Spy:
        def __init__(self) -> None:
            self.model = real()

        def fit(self, x: object, y: object) -> object:
            seen.append((len(y), 0))  # type: ignore[arg-type]
            self.model.fit(x, y)
            return self.model

    monkeypatch.setattr(stages, "_classifier", Spy)  # type: ignore[attr-defined]
    data = planted(400)
    train_stage3(data)
    sizes = [n for n, _ in seen]
    assert sizes[-1] == 400  # the final model: every sample
    assert sizes[:-1] == sorted(sizes[:-1]) and max(sizes[:-1]) < 400  # folds grow with time only


def test_evaluation_trains_only_on_outcomes_known_by_the_end_of_the_training_window() -> None:
    data = planted(1200)
    train_end = dt.datetime.fromtimestamp((T0 + 800 * HOUR) / 1000, dt.UTC)
    straddle = sample(799, {2, 4}, 9.0, lag=50 * HOUR)  # decided in training, known only in the test
    data[799] = straddle
    start = dt.datetime.fromtimestamp(T0 / 1000, dt.UTC)
    end = dt.datetime.fromtimestamp((T0 + 1200 * HOUR) / 1000, dt.UTC)
    train_set, test_set, results, _, model, _ = evaluate(data, (start, train_end), (train_end, end))
    assert straddle not in train_set
    assert all(s.outcome_ms <= T0 + 800 * HOUR for s in train_set)
    assert all(s.decided_ms >= T0 + 800 * HOUR for s in test_set)
    assert [r.stage for r in results] == [1, 2, 3] and model is not None


def test_stage3_model_as_data_scores_bit_for_bit_like_the_trained_one() -> None:
    """The registry stores LightGBM's text and the calibration thresholds (no pickle); the model read
    back gives the very probabilities `learn evaluate` scored with, and they follow sklearn's isotonic
    calibration of LightGBM's raw probability."""
    import json

    from sklearn.isotonic import IsotonicRegression

    model = train_stage3(planted(400))
    assert model is not None
    rows = [s.features() for s in planted(60, seed=9)]
    back = stages.Stage3Model.from_json(json.loads(json.dumps(model.to_json())))
    assert back.probability(rows).tolist() == model.probability(rows).tolist()
    iso = IsotonicRegression(out_of_bounds="clip").fit(model.calibration_x, model.calibration_y)
    raw = back._booster.predict(rows)
    assert abs(iso.predict(raw) - back.probability(rows)).max() < 1e-12
    assert len({round(p, 6) for p in back.probability(rows).tolist()}) > 1  # it discriminates
