from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources

import pytest

from qari.analysis.confluence import weighted_score
from qari.analysis.layer import LayerResult, Vote
from qari.analysis.weights import WeightSet, stage1


def _results(votes: list[Vote], score: float = 1.0) -> tuple[LayerResult, ...]:
    return tuple(LayerResult(i + 1, f"L{i + 1}", v, score) for i, v in enumerate(votes))


def test_stage1_weights_when_loaded_then_points_for_all_11_layers_from_the_data_file() -> None:
    w = stage1()
    raw = json.loads(resources.files("qari.analysis.data").joinpath("weights_stage1.json").read_text())

    assert len(w.points) == 11
    assert w.points[0] == raw["points"]["1"]
    assert w.min_agreeing == 3
    assert 0 < w.threshold < 1


def test_weights_when_min_agreeing_below_three_then_rejected() -> None:
    data = {"points": {str(i): 1.0 for i in range(1, 12)}, "threshold": 0.5, "min_agreeing": 2}

    with pytest.raises(ValueError, match="at least 3"):
        WeightSet.from_mapping(data)


def test_weights_when_a_layer_is_missing_then_rejected() -> None:
    with pytest.raises(ValueError, match="missing"):
        WeightSet.from_mapping({"points": {"1": 1.0}, "threshold": 0.5})


def test_weighted_score_when_abstaining_layers_then_excluded_from_the_denominator() -> None:
    w = WeightSet("flat", tuple([1.0] * 11), 0.5)
    votes = [Vote.AGREE] * 3 + [Vote.NEUTRAL] * 3 + [Vote.ABSTAIN] * 5

    assert weighted_score(_results(votes), w) == 0.5


def test_weighted_score_when_layers_vote_against_then_lower_never_negative() -> None:
    w = WeightSet("flat", tuple([1.0] * 11), 0.5)
    neutral = [Vote.AGREE] * 3 + [Vote.NEUTRAL] * 8
    against = [Vote.AGREE] * 3 + [Vote.AGAINST] * 2 + [Vote.NEUTRAL] * 6

    assert weighted_score(_results(against), w) < weighted_score(_results(neutral), w)
    assert weighted_score(_results([Vote.AGAINST] * 11), w) == 0.0


def test_weighted_score_when_same_input_then_same_score() -> None:
    w = stage1()
    r = _results([Vote.AGREE, Vote.NEUTRAL] * 5 + [Vote.AGREE], score=0.7)

    assert weighted_score(r, w) == weighted_score(r, w)


def test_to_price_when_float_then_decimal_without_binary_noise() -> None:
    from qari.analysis.confluence import to_price

    assert to_price(0.1 + 0.2) == Decimal("0.3")
    assert to_price(1.234e-05) == Decimal("0.00001234")
