"""Plain-English explanations: the paragraph a user reads under "why QARI took this trade"."""

from __future__ import annotations

from qari.analysis.layer import LayerResult, Vote
from qari.analysis.setup_levels import TradeLevels
from qari.core.time import from_ms


def _pct(a: float, b: float) -> str:
    return f"{abs(a - b) / b * 100:.1f} %"


def candidate_paragraph(
    symbol: str,
    at_ms: int,
    results: tuple[LayerResult, ...],
    score: float,
    levels: TradeLevels,
    setup: str,
) -> str:
    agree = [r for r in results if r.vote == Vote.AGREE]
    against = [r for r in results if r.vote == Vote.AGAINST]
    abstained = [r for r in results if r.vote == Vote.ABSTAIN]
    when = from_ms(at_ms).strftime("%Y-%m-%d %H:%M UTC")
    mid = (levels.entry_low + levels.entry_high) / 2.0
    kind = "capitulation-reversal long" if setup == "capitulation_reversal" else "long"
    parts = [
        f"QARI found a {kind} setup on {symbol} at {when}: {len(agree)} of {len(results)} layers agreed "
        f"(confluence score {score:.2f}).",
    ]
    parts += [f"{r.name}: {r.explanation}" for r in agree]
    parts.append(
        f"The entry zone {levels.entry_low:.6g}–{levels.entry_high:.6g} comes from the {levels.trigger}; "
        f"the stop at {levels.stop:.6g} sits below the "
        f"{levels.stop_source} ({_pct(levels.stop, mid)} below the "
        f"zone's middle)."
    )
    parts.append(
        f"The first target {levels.pt1:.6g} is the {levels.pt1_source} and the second target "
        f"{levels.pt2:.6g} is the {levels.pt2_source}."
    )
    if against:
        parts.append(
            "Against it: "
            + "; ".join(f"{r.name.lower()} ({r.explanation.rstrip('.')})" for r in against)
            + "."
        )
    if abstained:
        parts.append("Without data: " + ", ".join(r.name.lower() for r in abstained) + ".")
    return " ".join(parts)
