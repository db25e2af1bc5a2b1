"""The engine's output for one symbol at one time: 11 layer results, the score and any candidate."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from qari.analysis.layer import LayerResult


@dataclass(frozen=True, slots=True)
class Candidate:
    """A long setup passing Stage 1 confluence; prices are structural levels (the gate checks bands)."""

    symbol: str
    entry_low: Decimal
    entry_high: Decimal
    stop: Decimal
    pt1: Decimal
    pt2: Decimal
    explanation: str
    layers_agreed: tuple[int, ...]
    score: float
    setup: str = "continuation"  # or "capitulation_reversal" after an ELE

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry_low": str(self.entry_low),
            "entry_high": str(self.entry_high),
            "stop": str(self.stop),
            "pt1": str(self.pt1),
            "pt2": str(self.pt2),
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    symbol: str
    at_ms: int
    layers: tuple[LayerResult, ...]
    score: float
    agreeing: int
    vetoes: tuple[str, ...]
    candidate: Candidate | None
    screened: bool = False  # `engine.screen` stopped early: no candidate was possible

    def to_dict(self) -> dict[str, Any]:
        return {
            "layers": [r.to_dict() for r in self.layers],
            "score": self.score,
            "agreeing": self.agreeing,
            "vetoes": list(self.vetoes),
            "candidate": self.candidate.to_dict() if self.candidate else None,
        }
