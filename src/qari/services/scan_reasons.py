"""Why a scan entered nothing, in words (issue 17: "nothing said why").

A scan cycle's stored rows (score, agreeing layers, vetoes, candidate) and the caller's gate outcomes
are turned into one line for the whole cycle and one per symbol, e.g. "BTC: 4h bearish break —
altcoin entries vetoed" or "gate: G13 blocked SOL/USDT (reward/risk 1.6 < 2.0)".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qari.analysis.weights import stage1

VETO_WORDS = {
    "htf_bearish": "daily and 4h bearish — entries vetoed",
    "btc_bearish_break": "BTC: 4h bearish break (or daily and 4h bearish) — altcoin entries vetoed",
    "ele": "extreme liquidation event in the last 24 h — entries vetoed",
}


def veto_words(code: str) -> str:
    return VETO_WORDS.get(code, f"vetoed ({code})")


def _shown(score: float, threshold: float) -> str:
    """Two decimals, or four when two would round a score below the threshold up to it."""
    text = f"{score:.2f}"
    return f"{score:.4f}" if score < threshold and float(text) >= threshold else text


def symbol_reason(row: Mapping[str, Any], threshold: float, min_agreeing: int) -> str:
    """Why this symbol was or was not entered, for the caller."""
    gate = row.get("gate")
    if gate is not None:
        if gate.get("passed"):
            return "passed the gate: Leg 1 placed"
        headline = str(gate.get("reason") or "")  # "G13 risk_reward: reward/risk 1.6 below 2.0"
        return f"gate: {gate.get('blocking_code') or 'a check'} blocked — {headline.split(': ', 1)[-1]}"
    if row.get("candidate"):
        return "candidate; not gated for you this cycle (no connected exchange trading, or entries paused)"
    vetoes: Sequence[str] = row.get("vetoes") or []
    if vetoes:
        return "; ".join(veto_words(v) for v in vetoes)
    score, agreeing = float(row.get("score") or 0.0), int(row.get("agreeing") or 0)
    if agreeing < min_agreeing:
        return f"{agreeing} of the {min_agreeing} agreeing layers needed"
    if score < threshold:
        return f"score {_shown(score, threshold)} below the {threshold:.2f} threshold"
    return "no price-action trigger (liquidity/SFP, order block/FVG or Fibonacci) or no valid levels"


def cycle_reason(cycle: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str | None:
    """One line on why nothing was entered this cycle (None: something passed the gate)."""
    weights = stage1()
    if cycle.get("error"):
        return f"the scan failed: {cycle['error']}"
    if any((r.get("gate") or {}).get("passed") for r in rows):
        return None
    if not cycle.get("entries_allowed", True):
        return f"entries paused: the exchange is {cycle.get('health') or 'unhealthy'}"
    if not rows:
        return "no symbols were analysed"
    blocked = [r for r in rows if r.get("gate")]
    if blocked:
        first = blocked[0]
        return f"{first['symbol']} {symbol_reason(first, weights.threshold, weights.min_agreeing)}"
    if any(r.get("candidate") for r in rows):
        return "candidates found, but none was gated for you (connect an exchange, or entries are paused)"
    vetoes = {v for r in rows for v in (r.get("vetoes") or [])}
    if vetoes and all(r.get("vetoes") for r in rows if not str(r.get("symbol", "")).startswith("BTC/")):
        return "; ".join(sorted(veto_words(v) for v in vetoes))
    best = max(rows, key=lambda r: float(r.get("score") or 0.0))
    score = _shown(float(best.get("score") or 0.0), weights.threshold)
    return (
        f"no setup scored above the {weights.threshold:.2f} threshold with {weights.min_agreeing} layers "
        f"agreeing and a price-action trigger (best: {best['symbol']} {score}, "
        f"{int(best.get('agreeing') or 0)} layers)"
    )


def explain(cycle: Mapping[str, Any], rows: list[dict[str, Any]]) -> str | None:
    """Adds `why` to every row and returns the cycle's line."""
    weights = stage1()
    for row in rows:
        row["why"] = symbol_reason(row, weights.threshold, weights.min_agreeing)
    return cycle_reason(cycle, rows)
