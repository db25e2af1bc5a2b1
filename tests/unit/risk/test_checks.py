"""Edge cases of individual checks beyond "blocks alone"."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from qari.core.instrument import InstrumentRules
from qari.risk.checks.capital_available import capital_available
from qari.risk.checks.concurrency_lock import concurrency_lock
from qari.risk.checks.cooldown_clear import cooldown_clear
from qari.risk.checks.correlation import correlation, daily_return_correlation
from qari.risk.checks.key_healthy import key_healthy
from qari.risk.checks.kill_switch_clear import kill_switch_clear
from qari.risk.checks.minimum_order_size import minimum_order_size
from qari.risk.checks.no_duplicate import no_duplicate
from qari.risk.checks.not_blacklisted import not_blacklisted
from qari.risk.checks.risk_reward import reward_risk, risk_reward
from qari.risk.checks.spread_limit import spread_bps, spread_limit
from qari.risk.checks.stop_in_band import stop_in_band
from qari.risk.checks.subscription_valid import subscription_valid
from qari.risk.checks.symbol_tradable import symbol_tradable
from qari.risk.checks.tier_capacity import tier_capacity
from qari.risk.checks.trading_active import trading_active
from qari.risk.kill_switch import RLimits, evaluate_kill_switch
from qari.risk.stops import StopBand

from .builders import NOW, RULES, passing_context


def test_trading_active_when_platform_engine_off_then_fails() -> None:
    assert not trading_active(passing_context(engine_enabled=False)).passed


def test_subscription_valid_when_waiver_then_passes_even_after_expiry() -> None:
    ctx = passing_context(plan="trial", plan_active_until=NOW - dt.timedelta(days=3), waiver=True)
    assert subscription_valid(ctx).passed


def test_subscription_valid_when_paid_plan_open_ended_then_passes() -> None:
    assert subscription_valid(passing_context(plan="premium", plan_active_until=None)).passed


def test_symbol_tradable_when_not_listed_or_inactive_then_fails() -> None:
    assert not symbol_tradable(passing_context(instrument=None)).passed
    inactive = InstrumentRules(
        "SOL/USDT",
        "SOL",
        "USDT",
        RULES.tick_size,
        RULES.lot_size,
        RULES.min_qty,
        RULES.min_notional,
        active=False,
    )
    assert not symbol_tradable(passing_context(instrument=inactive)).passed


def test_not_blacklisted_when_platform_lists_full_symbol_then_fails() -> None:
    result = not_blacklisted(passing_context(platform_blacklist=frozenset({"sol/usdt"})))
    assert not result.passed and "platform" in result.reason


def test_no_duplicate_when_entry_order_resting_then_fails() -> None:
    assert not no_duplicate(passing_context(resting_entry_symbols=frozenset({"SOL/USDT"}))).passed


def test_tier_capacity_when_one_below_capacity_then_passes() -> None:
    assert tier_capacity(passing_context(open_positions=4, capacity=5)).passed
    assert not tier_capacity(passing_context(open_positions=5, capacity=5)).passed


def test_capital_available_when_no_sizing_then_fails() -> None:
    assert not capital_available(passing_context(sizing=None)).passed


def test_capital_available_when_exactly_enough_then_passes() -> None:
    ctx = passing_context()
    assert ctx.sizing is not None
    assert capital_available(passing_context(free_quote=ctx.sizing.capital_needed)).passed


def test_minimum_order_size_when_leg_below_exchange_min_notional_then_fails() -> None:
    strict = InstrumentRules(
        "SOL/USDT", "SOL", "USDT", RULES.tick_size, RULES.lot_size, RULES.min_qty, Decimal(150)
    )
    result = minimum_order_size(passing_context(instrument=strict))
    assert not result.passed and "Leg 1" in result.reason


def test_spread_limit_when_book_missing_then_fails() -> None:
    assert not spread_limit(passing_context(best_bid=None)).passed
    assert spread_bps(Decimal(99), Decimal(101)) == Decimal(200)


def test_concurrency_lock_when_held_then_passes() -> None:
    assert concurrency_lock(passing_context(lock_acquired=True)).passed


def test_cooldown_clear_when_window_elapsed_then_passes() -> None:
    ctx = passing_context(last_stop_loss_at=NOW - dt.timedelta(hours=24))
    assert cooldown_clear(ctx).passed
    assert not cooldown_clear(
        passing_context(last_stop_loss_at=NOW - dt.timedelta(hours=23, minutes=59))
    ).passed


def test_correlation_when_history_too_short_then_passes_with_note() -> None:
    result = correlation(passing_context(candidate_daily_closes=(1.0, 2.0)))
    assert result.passed
    assert daily_return_correlation((1.0, 2.0), (1.0, 2.0)) is None


def test_risk_reward_when_fees_push_ratio_below_two_then_fails() -> None:
    # gross (130-100)/(100-85) = 2.0 exactly; fees make it fall short
    assert reward_risk(Decimal(100), Decimal(85), Decimal(130), Decimal(0)) == Decimal(2)
    assert not risk_reward(passing_context(pt2_price=Decimal(130))).passed


def test_kill_switch_clear_when_ledger_missing_then_fails_safe() -> None:
    assert not kill_switch_clear(passing_context(kill_switch=None)).passed


def test_kill_switch_clear_when_platform_switch_on_then_fails() -> None:
    state = evaluate_kill_switch([], NOW, RLimits(), platform_switch=True)
    assert not kill_switch_clear(passing_context(kill_switch=state)).passed


def test_stop_in_band_when_at_band_edges_then_passes_and_beyond_fails() -> None:
    assert stop_in_band(passing_context(stop_price=Decimal(90))).passed
    assert stop_in_band(passing_context(stop_price=Decimal(70))).passed
    assert not stop_in_band(passing_context(stop_price=Decimal("69.99"))).passed


def test_stop_in_band_when_user_narrows_band_then_wider_stop_fails() -> None:
    band = StopBand.for_user(Decimal(12))
    assert not stop_in_band(passing_context(stop_band=band)).passed
    assert StopBand.for_user(Decimal(50)).max_distance == Decimal("0.30")


def test_key_healthy_when_verification_stale_or_exchange_down_then_fails() -> None:
    assert not key_healthy(passing_context(permissions_verified_at=NOW - dt.timedelta(hours=2))).passed
    assert not key_healthy(passing_context(exchange_reachable=False)).passed


def test_capital_available_when_other_positions_reserve_leg2_then_fails() -> None:
    ctx = passing_context(reserved_quote=Decimal(900))
    result = capital_available(ctx)
    assert not result.passed and "reserved" in result.reason
