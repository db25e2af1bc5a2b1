"""Clock protocol and timeframe maths. Nothing outside adapters/engine reads the wall clock."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

UTC = dt.UTC

TIMEFRAME_SECONDS: dict[str, int] = {
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "12h": 43200,
    "1d": 86400,
    "1w": 604800,
}


class Clock(Protocol):
    """Where "now" comes from: the wall clock live, a simulated clock in backtests and tests."""

    def now(self) -> dt.datetime: ...


def timeframe_ms(timeframe: str) -> int:
    try:
        return TIMEFRAME_SECONDS[timeframe] * 1000
    except KeyError:
        raise ValueError(
            f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAME_SECONDS)}"
        ) from None


def to_ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware UTC")
    return int(moment.timestamp() * 1000)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands timestamps back naive; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=UTC)


def last_closed_open_ms(now_ms: int, timeframe: str) -> int:
    """Open time of the most recent candle that has fully closed at `now_ms`."""
    step = timeframe_ms(timeframe)
    return (now_ms // step) * step - step


def next_boundary(moment: dt.datetime, seconds: int) -> dt.datetime:
    """The next instant aligned to a multiple of `seconds` since the epoch (candle-close alignment)."""
    ts = moment.timestamp()
    return dt.datetime.fromtimestamp((int(ts // seconds) + 1) * seconds, tz=UTC)
