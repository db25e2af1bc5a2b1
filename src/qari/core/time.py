"""Clock protocol, timeframe maths and the one UTC convention. Nothing outside adapters/engine reads the
wall clock.

Every stored or exchanged time is UTC. A naive datetime (SQLite hands stored times back naive; a user
may type "2024-03-01T12:00") means UTC: `as_utc` and `parse_utc` are the only places that say so."""

from __future__ import annotations

import datetime as dt
from typing import Protocol, overload

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


@overload
def as_utc(moment: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(moment: None) -> None: ...
@overload
def as_utc(moment: dt.datetime | None) -> dt.datetime | None: ...
def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """`moment` with its zone, or UTC when it has none; None stays None."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def parse_utc(text: str) -> dt.datetime:
    """An ISO 8601 date or time ("2024-03-01", "2024-03-01T12:00Z", "...+02:00"); without a zone it is
    UTC. ValueError when `text` is not one."""
    return as_utc(dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00")))


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
