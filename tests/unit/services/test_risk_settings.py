from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qari.services.risk_settings import (
    RiskSettings,
    RiskSettingsError,
    apply_update,
    normalise_symbol,
)

DEFAULTS = RiskSettings()


def errors_of(update: dict[str, object], capacity: int = 5) -> dict[str, str]:
    with pytest.raises(RiskSettingsError) as caught:
        apply_update(DEFAULTS, update, capacity=capacity)
    return caught.value.errors


def test_apply_update_when_all_values_valid_then_merged() -> None:
    result = apply_update(
        DEFAULTS,
        {
            "auto_trading": False,
            "allocation_mode": "fixed",
            "allocation_value": "250.5",
            "max_positions": 3,
            "stop_loss_pct": 12,
            "personal_blacklist": ["doge", "PEPEUSDT", "shib/usdt"],
            "daily_loss_limit_r": "1.5",
            "weekly_loss_limit_r": 4,
            "spread_limit_bps": 20,
            "cooldown_hours": 48,
        },
        capacity=5,
    )
    assert result.auto_trading is False
    assert result.allocation_value == Decimal("250.5")
    assert result.personal_blacklist == ("DOGE/USDT", "PEPE/USDT", "SHIB/USDT")
    assert result.daily_loss_limit_r == Decimal("1.5")


@pytest.mark.parametrize("value", [9.99, "31", 0, -5, "abc", None, True])
def test_stop_loss_when_outside_band_or_not_number_then_rejected(value: object) -> None:
    assert "stop_loss_pct" in errors_of({"stop_loss_pct": value})


def test_stop_loss_message_names_the_band() -> None:
    assert "10 % and 30 %" in errors_of({"stop_loss_pct": 35})["stop_loss_pct"]


def test_kill_switch_when_looser_than_platform_then_rejected_with_never_looser() -> None:
    errors = errors_of({"daily_loss_limit_r": 3, "weekly_loss_limit_r": "5.5"})
    assert "never looser" in errors["daily_loss_limit_r"]
    assert "never looser" in errors["weekly_loss_limit_r"]


def test_weekly_limit_when_stricter_than_daily_then_rejected() -> None:
    errors = errors_of({"daily_loss_limit_r": 2, "weekly_loss_limit_r": 1})
    assert list(errors) == ["weekly_loss_limit_r"]


def test_max_positions_when_above_plan_capacity_then_names_capacity() -> None:
    assert "at most 5" in errors_of({"max_positions": 6}, capacity=5)["max_positions"]
    assert apply_update(DEFAULTS, {"max_positions": 10}, capacity=10).max_positions == 10


def test_allocation_when_fixed_below_minimum_trade_then_rejected() -> None:
    errors = errors_of({"allocation_mode": "fixed", "allocation_value": 4})
    assert "USDT" in errors["allocation_value"]


def test_allocation_when_percent_above_100_then_rejected() -> None:
    assert "%" in errors_of({"allocation_mode": "percent", "allocation_value": 150})["allocation_value"]


def test_unknown_field_and_bad_mode_each_get_their_own_message() -> None:
    errors = errors_of({"leverage": 10, "allocation_mode": "all_in"})
    assert set(errors) == {"leverage", "allocation_mode"}
    assert "unknown setting" in errors["leverage"]


@pytest.mark.parametrize("raw", ["BTC/EUR", "", "DO GE", "x" * 40, 12])
def test_normalise_symbol_when_not_a_usdt_symbol_then_rejected(raw: object) -> None:
    with pytest.raises(ValueError):
        normalise_symbol(raw)


@given(st.decimals(min_value=-100, max_value=100, allow_nan=False, allow_infinity=False, places=2))
def test_stop_loss_accepted_exactly_inside_band(value: Decimal) -> None:
    inside = Decimal(10) <= value <= Decimal(30)
    try:
        result = apply_update(DEFAULTS, {"stop_loss_pct": str(value)}, capacity=5)
    except RiskSettingsError as e:
        assert not inside and "stop_loss_pct" in e.errors
    else:
        assert inside and result.stop_loss_pct == value


@given(st.decimals(min_value=0, max_value=10, allow_nan=False, allow_infinity=False, places=1))
def test_daily_limit_never_accepted_looser_than_two_r(value: Decimal) -> None:
    try:
        result = apply_update(DEFAULTS, {"daily_loss_limit_r": str(value)}, capacity=5)
    except RiskSettingsError:
        assert value > 2 or value < Decimal("0.1")
    else:
        assert Decimal("0.1") <= result.daily_loss_limit_r <= 2


def test_apply_update_when_guard_caps_set_then_stored_and_null_returns_to_the_plans() -> None:
    lowered = apply_update(DEFAULTS, {"guard_order_cap_usdt": "50", "guard_day_cap_usdt": 400}, capacity=5)
    assert (lowered.guard_order_cap_usdt, lowered.guard_day_cap_usdt) == (Decimal(50), Decimal(400))
    reset = apply_update(lowered, {"guard_order_cap_usdt": None}, capacity=5)
    assert (reset.guard_order_cap_usdt, reset.guard_day_cap_usdt) == (None, Decimal(400))
    assert set(errors_of({"guard_order_cap_usdt": "-1", "guard_day_cap_usdt": "1e1000000"})) == {
        "guard_order_cap_usdt",
        "guard_day_cap_usdt",
    }
