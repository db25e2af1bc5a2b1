"""The sandbox's market clock: stepped by hand, or following a real clock at a replay speed.

The market clock dates candles, orders and fills. Request signing is checked against the real time
(`auth_now_ms`), as on a real venue, so a replay or a stepped clock never breaks clients' signatures.
"""

from __future__ import annotations

from typing import Protocol

from qari.core.time import Clock, to_ms


class MarketClock(Protocol):
    mode: str

    def now_ms(self) -> int: ...


class SteppedClock:
    """Moves only when told (tests, backtests, admin API)."""

    mode = "stepped"

    def __init__(self, start_ms: int) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def set(self, ms: int) -> None:
        if ms < self._now:
            raise ValueError(f"the market clock cannot move backwards ({ms} < {self._now})")
        self._now = ms

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("advance by a positive number of milliseconds")
        self._now += ms


class LiveClock:
    """The real time, fixed at speed 1: a market following a live feed cannot run ahead of its data
    (not a `ReplayClock`, so no speed control or admin call can change it)."""

    mode = "live"
    speed = 1.0

    def __init__(self, real: Clock) -> None:
        self._real = real

    def now_ms(self) -> int:
        return to_ms(self._real.now())


class ReplayClock:
    """`origin_ms + (real elapsed) × speed`; speed 1 with origin = now is the real time. `set_speed`
    changes the speed from the current instant on (the market time never jumps)."""

    mode = "replay"

    def __init__(self, real: Clock, *, origin_ms: int | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._real = real
        self._start = to_ms(real.now())
        self.origin_ms = self._start if origin_ms is None else origin_ms
        self.speed = speed

    def now_ms(self) -> int:
        return self.origin_ms + int((to_ms(self._real.now()) - self._start) * self.speed)

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        now = self.now_ms()
        self._start = to_ms(self._real.now())
        self.origin_ms = now
        self.speed = speed
