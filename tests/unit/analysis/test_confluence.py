from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qari.analysis.confluence import PRICE_ACTION, CandidateBound, could_still_pass, weighted_score
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


_layer_result = st.builds(
    lambda vote, score, veto: (vote, score, veto),
    st.sampled_from([Vote.AGREE, Vote.AGREE, Vote.AGREE, Vote.NEUTRAL, Vote.AGAINST, Vote.ABSTAIN]),
    st.floats(0.0, 1.0),
    st.sampled_from([None] * 7 + ["htf_bearish"]),
)


def _passes(results: tuple[LayerResult, ...], w: WeightSet) -> bool:
    """decide's conditions short of the trade levels (an ELE only raises the count needed)."""
    agreed = [r.layer for r in results if r.vote == Vote.AGREE]
    return (
        not any(r.veto for r in results)
        and len(agreed) >= w.min_agreeing
        and weighted_score(results, w) >= w.threshold
        and any(code in PRICE_ACTION for code in agreed)
    )


_WEIGHT_SETS = [stage1(), WeightSet("flat", tuple([1.0] * 11), 0.5), WeightSet("zero", (0.0,) * 11, 0.0)]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(_layer_result, min_size=11, max_size=11),
    st.lists(
        st.sampled_from(["known", "unknown", "cannot_agree", "probed_then_known"]), min_size=11, max_size=11
    ),
    st.sampled_from(_WEIGHT_SETS),
)
def test_candidate_bound_when_some_layers_known_then_never_rules_out_a_passing_verdict(
    raw: list[tuple[Vote, float, str | None]], what: list[str], w: WeightSet
) -> None:
    results = tuple(LayerResult(i + 1, f"L{i + 1}", v, s, veto=veto) for i, (v, s, veto) in enumerate(raw))
    bound = CandidateBound(w)
    for r, kind in zip(results, what, strict=True):
        if kind in ("cannot_agree", "probed_then_known") and r.vote != Vote.AGREE:  # a truthful probe
            bound.cannot_agree(r.layer)
    for r, kind in zip(results, what, strict=True):
        if kind in ("known", "probed_then_known"):
            bound.add(r)

    if _passes(results, w):
        assert bound.possible()
        assert could_still_pass({r.layer: r for r in results}, w)


@pytest.mark.parametrize(("score", "passes"), [(0.9, False), (0.95, True)])
def test_candidate_bound_when_every_layer_known_then_exactly_the_threshold(
    score: float, passes: bool
) -> None:
    w = WeightSet("flat", tuple([1.0] * 11), 0.4)
    votes = [Vote.AGREE] * 3 + [Vote.NEUTRAL] * 4 + [Vote.ABSTAIN] * 4  # 3 x score / 7 against 0.4
    results = _results(votes, score=score)
    bound = CandidateBound(w)
    for r in results:
        assert bound.possible()  # 3 agreeing so far: the rest could still lift the score
        bound.add(r)

    assert bound.possible() is passes is _passes(results, w)


def test_could_still_pass_when_a_veto_or_no_trigger_left_then_false() -> None:
    w = stage1()
    agree = {c: LayerResult(c, "", Vote.AGREE, 1.0) for c in (1, 4, 9)}

    assert could_still_pass(agree, w)
    assert not could_still_pass(agree | {11: LayerResult(11, "", Vote.AGAINST, 0.0, veto="x")}, w)
    no_trigger = agree | {c: LayerResult(c, "", Vote.NEUTRAL, 0.2) for c in PRICE_ACTION}
    assert not could_still_pass(no_trigger, w)
