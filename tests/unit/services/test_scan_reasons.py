"""Issue 17: the scanner says in words why nothing was entered."""

from __future__ import annotations

from typing import Any

from qari.services.scan_reasons import cycle_reason, explain


def _row(symbol: str, score: float, agreeing: int, **extra: Any) -> dict[str, Any]:
    return {"symbol": symbol, "score": score, "agreeing": agreeing, "vetoes": [], "candidate": None,
            "gate": None, **extra}  # fmt: skip


def test_when_no_setup_scores_then_names_threshold_and_best() -> None:
    rows = [_row("ETH/USDT", 0.29, 3), _row("SOL/USDT", 0.1, 1)]
    line = explain({"entries_allowed": True}, rows)
    assert line == (
        "no setup scored above the 0.40 threshold with 3 layers agreeing and a price-action trigger "
        "(best: ETH/USDT 0.29, 3 layers)"
    )
    assert rows[0]["why"] == "score 0.29 below the 0.40 threshold"
    assert rows[1]["why"] == "1 of the 3 agreeing layers needed"
    just_below = [_row("XRP/USDT", 0.3996, 4)]
    explain({}, just_below)
    assert just_below[0]["why"] == "score 0.3996 below the 0.40 threshold"  # never "0.40 below 0.40"


def test_when_exchange_unhealthy_or_scan_failed_then_says_so() -> None:
    assert cycle_reason({"entries_allowed": False, "health": "degraded"}, [_row("ETH/USDT", 0.5, 4)]) == (
        "entries paused: the exchange is degraded"
    )
    assert cycle_reason({"error": "ExchangeUnavailableError"}, []) == (
        "the scan failed: ExchangeUnavailableError"
    )


def test_when_a_gate_passed_then_nothing_to_explain() -> None:
    rows = [_row("ETH/USDT", 0.5, 4, gate={"passed": True, "blocking_code": None, "reason": ""})]
    assert explain({"entries_allowed": True}, rows) is None
    assert rows[0]["why"] == "passed the gate: Leg 1 placed"
