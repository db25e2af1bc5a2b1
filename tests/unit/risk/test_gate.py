"""The gate: every check blocks alone with its own code; all results kept in canonical order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from qari.risk.checks import CHECKS
from qari.risk.gate import evaluate_gate
from qari.risk.kill_switch import RealisedR, RLimits, evaluate_kill_switch
from qari.risk.sizing import AllocationMode, size_trade

from .builders import ENTRY, NOW, RULES, STOP, passing_context

CLOSES = tuple(100.0 + (i % 3) for i in range(31))

BLOCKS_ALONE: dict[str, dict[str, Any]] = {
    "G01": {"auto_trading": False},
    "G02": {"plan": "trial", "plan_active_until": NOW - dt.timedelta(days=1)},
    "G03": {"market_maintenance": True},
    "G04": {"personal_blacklist": frozenset({"SOL"})},
    "G05": {"open_position_symbols": frozenset({"SOL/USDT", "ETH/USDT"})},
    "G06": {"open_positions": 10},
    "G07": {"free_quote": Decimal("150")},
    "G08": {
        "sizing": size_trade(
            mode=AllocationMode.FIXED,
            value=Decimal("4"),
            free_quote=Decimal("1000"),
            entry_price=ENTRY,
            stop_price=STOP,
            rules=RULES,
        )
    },
    "G09": {"best_ask": Decimal("101")},
    "G10": {"lock_acquired": False},
    "G11": {"last_stop_loss_at": NOW - dt.timedelta(hours=2)},
    "G12": {
        "open_daily_closes": {"ETH/USDT": tuple(c * 3 for c in CLOSES)},
        "candidate_daily_closes": CLOSES,
    },
    "G13": {"pt2_price": Decimal("120")},
    "G14": {
        "kill_switch": evaluate_kill_switch(
            [RealisedR(NOW - dt.timedelta(hours=1), Decimal(-2))], NOW, RLimits()
        )
    },
    "G15": {"stop_price": Decimal("95")},
    "G16": {"key_status": "invalid"},
}


def test_gate_when_all_facts_good_then_all_sixteen_pass_in_order() -> None:
    decision = evaluate_gate(passing_context())
    assert decision.passed, decision.headline
    assert [r.code for r in decision.results] == [f"G{i:02d}" for i in range(1, 17)]
    assert decision.blocking is None
    assert len(CHECKS) == 16


@pytest.mark.parametrize("code", sorted(BLOCKS_ALONE))
def test_gate_when_one_check_fails_alone_then_it_blocks_with_its_code(code: str) -> None:
    decision = evaluate_gate(passing_context(**BLOCKS_ALONE[code]))
    assert not decision.passed
    assert decision.blocking is not None
    assert decision.blocking.code == code
    assert decision.blocking.reason
    failed = [r.code for r in decision.results if not r.passed]
    assert failed == [code]
    assert decision.headline.startswith(code)


def test_gate_when_several_fail_then_first_is_headline_and_all_results_kept() -> None:
    decision = evaluate_gate(passing_context(auto_trading=False, lock_acquired=False, key_status="invalid"))
    assert decision.blocking is not None and decision.blocking.code == "G01"
    assert [r.code for r in decision.results if not r.passed] == ["G01", "G10", "G16"]
    assert len(decision.results) == 16


def test_gate_when_a_check_raises_then_it_counts_as_failure() -> None:
    decision = evaluate_gate(passing_context(entry_price=Decimal(0)))
    assert not decision.passed
    assert all(r.reason for r in decision.results)
