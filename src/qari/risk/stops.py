"""The mandatory stop band (R4): 10 %–30 % below the (blended) entry, never tighter, never wider.

A structural stop outside the band is rejected, not clamped. Users may narrow the upper bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MIN_STOP_DISTANCE = Decimal("0.10")
MAX_STOP_DISTANCE = Decimal("0.30")


@dataclass(frozen=True, slots=True)
class StopBand:
    min_distance: Decimal = MIN_STOP_DISTANCE
    max_distance: Decimal = MAX_STOP_DISTANCE

    @staticmethod
    def for_user(user_max_pct: Decimal | None) -> StopBand:
        """A user's stop-loss percentage may only narrow the band's upper edge, never widen it."""
        if user_max_pct is None:
            return StopBand()
        user_max = Decimal(user_max_pct) / 100
        return StopBand(MIN_STOP_DISTANCE, max(MIN_STOP_DISTANCE, min(MAX_STOP_DISTANCE, user_max)))

    def contains(self, distance: Decimal) -> bool:
        return self.min_distance <= distance <= self.max_distance


def stop_distance(entry: Decimal, stop: Decimal) -> Decimal:
    """Fraction of the entry price between entry and stop (positive when the stop is below)."""
    if entry <= 0:
        raise ValueError("entry price must be positive")
    return (entry - stop) / entry


def one_r(notional_quote: Decimal, entry: Decimal, stop: Decimal) -> Decimal:
    """1R: the planned loss in quote currency if the stop is hit (allocation × stop distance)."""
    return notional_quote * stop_distance(entry, stop)
