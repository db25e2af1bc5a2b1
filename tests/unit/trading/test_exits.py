"""Exit maths: shares, break-even, trailing, sellable quantities, Leg 2 risk cap."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from qari.core.instrument import InstrumentRules
from qari.risk.stops import StopBand
from qari.trading.exits import (
    PT1_SHARE,
    PT2_SHARE,
    FillAmount,
    blended_entry,
    break_even_stop,
    is_placeable,
    leg2_allowed,
    leg2_blend_refusal,
    leg2_qty_within_risk,
    realised_r,
    sellable_qty,
    target_exit_qty,
    trailed_stop,
)

RULES = InstrumentRules(
    "SOL/USDT", "SOL", "USDT", Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal(5)
)


def test_blended_entry_when_two_legs_then_quantity_weighted() -> None:
    assert blended_entry(
        [FillAmount(Decimal(1), Decimal(100)), FillAmount(Decimal(3), Decimal(104))]
    ) == Decimal(103)
    assert blended_entry([]) is None


def test_target_exit_qty_when_normal_size_then_forty_then_thirty_percent() -> None:
    entered = Decimal(10)
    assert target_exit_qty(PT1_SHARE, entered, Decimal("9.99"), Decimal(100), RULES) == Decimal(4)
    assert target_exit_qty(PT2_SHARE, entered, Decimal("5.99"), Decimal(100), RULES) == Decimal(3)


def test_target_exit_qty_when_remainder_would_be_dust_then_sells_all() -> None:
    entered = Decimal("0.12")  # 12 USDT at 100: the 30 % remainder (3.6 USDT) could not be sold
    assert target_exit_qty(PT2_SHARE, entered, Decimal("0.072"), Decimal(100), RULES) == Decimal("0.072")


def test_target_exit_qty_when_nothing_placeable_then_zero() -> None:
    assert target_exit_qty(PT1_SHARE, Decimal("0.04"), Decimal("0.04"), Decimal(100), RULES) == 0


def test_sellable_qty_when_fee_taken_in_base_then_capped_by_free_and_rounded_down() -> None:
    assert sellable_qty(Decimal("1.0"), Decimal("0.9989"), RULES) == Decimal("0.998")


def test_break_even_stop_when_fees_then_above_entry_rounded_up() -> None:
    assert break_even_stop(Decimal("100.001"), Decimal("0.001"), RULES) == Decimal("100.21")


def test_trailed_stop_when_higher_low_rises_then_stop_follows_never_down() -> None:
    assert trailed_stop(Decimal(100), 110.0, Decimal(120), RULES) == Decimal("109.99")
    assert trailed_stop(Decimal(100), 95.0, Decimal(120), RULES) == Decimal(100)
    assert trailed_stop(Decimal(100), 125.0, Decimal(120), RULES) == Decimal(100)
    assert trailed_stop(Decimal(100), None, Decimal(120), RULES) == Decimal(100)


def test_leg2_qty_when_price_higher_then_shrunk_to_planned_risk() -> None:
    qty = leg2_qty_within_risk(
        reserved_qty=Decimal(1),
        price=Decimal(110),
        stop=Decimal(85),
        planned_risk=Decimal(30),
        risk_taken=Decimal(15),
        rules=RULES,
    )
    assert qty == Decimal("0.6")


def test_leg2_allowed_when_price_past_pt1_or_band_broken_then_reason() -> None:
    band = StopBand()
    assert leg2_allowed(Decimal(105), Decimal(85), Decimal(120), band) is None
    assert leg2_allowed(Decimal(125), Decimal(85), Decimal(120), band) is not None
    assert leg2_allowed(Decimal(119), Decimal(80), Decimal(120), band) is not None


def test_realised_r_when_loss_equals_risk_then_minus_one() -> None:
    assert realised_r(Decimal(-30), Decimal(30)) == Decimal(-1)


@given(
    entered=st.decimals(min_value="0.001", max_value=1000, places=3),
    held_fraction=st.decimals(min_value="0.5", max_value=1, places=4),
    price=st.decimals(min_value="0.5", max_value=5000, places=2),
    share=st.sampled_from([PT1_SHARE, PT2_SHARE]),
)
def test_target_exit_qty_property_never_more_than_sellable_and_placeable(
    entered: Decimal, held_fraction: Decimal, price: Decimal, share: Decimal
) -> None:
    sellable = sellable_qty(entered * held_fraction, None, RULES)
    qty = target_exit_qty(share, entered, sellable, price, RULES)
    assert 0 <= qty <= sellable
    if qty > 0:
        assert is_placeable(qty, price, RULES)
        rest = sellable - qty
        assert rest == 0 or is_placeable(rest, price, RULES)


def test_leg2_blend_when_blended_entry_breaks_reward_risk_or_band_then_reason() -> None:
    band = StopBand()
    fee = Decimal("0.001")
    bought = dict(cost_quote=Decimal(1000), bought_qty=Decimal(10), stop=Decimal(85), fee_rate=fee, band=band)
    # 10 at 100 plus 2 at 105: blended 100.83, reward/risk to 140 = 2.5 -> allowed
    assert leg2_blend_refusal(**bought, qty=Decimal(2), price=Decimal(105), pt2=Decimal(140)) is None
    # 10 at 100 plus 10 at 113: blended 106.5, reward/risk to 140 = 1.5 -> skipped
    refusal = leg2_blend_refusal(**bought, qty=Decimal(10), price=Decimal(113), pt2=Decimal(140))
    assert refusal is not None and "reward/risk 1.5" in refusal
    # a far target but a stop 30 %+ below the blended entry -> outside the band
    wide = dict(bought, stop=Decimal(60))
    refusal = leg2_blend_refusal(**wide, qty=Decimal(10), price=Decimal(113), pt2=Decimal(400))
    assert refusal is not None and "outside the band" in refusal
