"""Clock implementations. `WallClock` is the only place in QARI that reads the real time."""

from __future__ import annotations

import datetime as dt

from qari.core.time import UTC


class WallClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(tz=UTC)


class ManualClock:
    """A clock that moves only when told: backtests, replays and tests."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def set(self, moment: dt.datetime) -> None:
        if moment < self._now:
            raise ValueError("a clock cannot move backwards")
        self._now = moment

    def advance(self, delta: dt.timedelta) -> None:
        self.set(self._now + delta)
