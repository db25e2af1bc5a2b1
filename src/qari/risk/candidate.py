"""What the risk gate needs from an analysis candidate.

`TradeCandidate` is a structural protocol: the analysis engine's `Candidate` satisfies it without this
package importing analysis. `CandidateLevels` is a plain implementation for tests and replays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol


class TradeCandidate(Protocol):
    @property
    def symbol(self) -> str: ...

    @property
    def entry_low(self) -> Decimal: ...

    @property
    def entry_high(self) -> Decimal: ...

    @property
    def stop(self) -> Decimal: ...

    @property
    def pt1(self) -> Decimal: ...

    @property
    def pt2(self) -> Decimal: ...

    @property
    def explanation(self) -> str: ...

    @property
    def score(self) -> float: ...


@dataclass(frozen=True, slots=True)
class CandidateLevels:
    symbol: str
    entry_low: Decimal
    entry_high: Decimal
    stop: Decimal
    pt1: Decimal
    pt2: Decimal
    explanation: str = ""
    score: float = 0.0
    layers_agreed: tuple[str, ...] = ()
    layer_results: tuple[dict[str, Any], ...] = field(default=())


def entry_price(candidate: TradeCandidate) -> Decimal:
    """Leg 1's limit price: the middle of the confluence zone (rounded to the tick by the caller)."""
    return (Decimal(candidate.entry_low) + Decimal(candidate.entry_high)) / 2
