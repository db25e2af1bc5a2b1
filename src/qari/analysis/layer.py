"""The layer contract: a pure function of closed market data returning a `LayerResult`.

Layer — required attributes and method:
    code      stable int 1..11 (canonical order lives in `layers/__init__.py`)
    name      short human name ("Market structure")
    evaluate(ctx: AnalysisContext) -> LayerResult    pure: no I/O, no clock, closed candles only

Beside the class, the layer's module defines `bound(...)`: the best `evaluate` can give at every step
of a whole history at once (an `analysis.bounds.Bound`, mostly from the per-candle arrays of
`analysis.features`), which `analysis.sweep` combines. A rule and its constants live in that one file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from qari.analysis.context import AnalysisContext


class Vote(StrEnum):
    AGREE = "agree"
    NEUTRAL = "neutral"
    AGAINST = "against"
    ABSTAIN = "abstain"


Evidence = dict[str, Any]


@dataclass(frozen=True, slots=True)
class LayerResult:
    """One layer's verdict: `score` in [0, 1]; `evidence` is JSON-serialisable and deterministic."""

    layer: int
    name: str
    vote: Vote
    score: float
    evidence: Evidence = field(default_factory=dict)
    explanation: str = ""
    veto: str | None = None  # a veto code this layer raises ("htf_bearish", "btc_bearish_break", ...)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "name": self.name,
            "vote": str(self.vote),
            "score": self.score,
            "explanation": self.explanation,
            "evidence": self.evidence,
        }


class Layer(Protocol):
    code: int
    name: str

    def evaluate(self, ctx: AnalysisContext) -> LayerResult: ...


def clip01(x: float) -> float:
    if not math.isfinite(x):
        return 0.0
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else float(x)


def num(x: float | None, digits: int = 10) -> float | None:
    """A float fit for evidence: finite, rounded to `digits` significant digits (stable JSON)."""
    if x is None:
        return None
    xf = float(x)
    if not math.isfinite(xf):
        return None
    if xf == 0.0:
        return 0.0
    return float(f"{xf:.{digits}g}")


def clean(value: Any) -> Any:
    """Make evidence JSON-safe and deterministic (NumPy scalars → Python, NaN → None, tuples → lists)."""
    t = type(value)
    if t is float:
        return num(value)
    if t is str or t is bool or t is int or value is None:
        return value
    if t is dict:
        return {str(k): clean(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [clean(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, bool | int):
        return int(value) if not isinstance(value, bool) else value
    if hasattr(value, "item"):
        return clean(value.item())
    if isinstance(value, float):
        return num(value)
    return str(value)


def result(
    code: int,
    name: str,
    vote: Vote,
    score: float,
    evidence: Evidence,
    explanation: str,
    veto: str | None = None,
) -> LayerResult:
    return LayerResult(code, name, vote, num(clip01(score), 6) or 0.0, clean(evidence), explanation, veto)


def abstain(code: int, name: str, why: str, evidence: Evidence | None = None) -> LayerResult:
    return result(code, name, Vote.ABSTAIN, 0.0, evidence or {"reason": why}, why)
