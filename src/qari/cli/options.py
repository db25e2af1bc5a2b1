"""Command-line conventions shared by every `qari` command (freqtrade's forms).

- `--pairs BTC/USDT ETH/USDT` and `--timeframes 15m 4h 1d`: space-separated values after one flag.
  Click options take one value per occurrence, so `MultiValueGroup` rewrites the argument list before
  parsing: `--pairs A B` becomes `--pairs A --pairs B` (repeating the flag and commas keep working).
- `--timerange 20240101-20240301` (either side may be empty; Unix seconds accepted too), beside
  `--start/--end`.
- `--datadir` as another name of `--data`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from qari.core.time import parse_utc
from qari.market.scan_pass import normalise_pair

MULTI_VALUE_OPTIONS = frozenset({"--pairs", "-p", "--timeframes", "-t"})
DATA_DIR_NAMES = ("--data", "--datadir")
PAIRS_METAVAR = "PAIR ..."
TIMERANGE_HELP = "Period as YYYYMMDD-YYYYMMDD (freqtrade's form; either side may be empty)."


def expand_multi_values(args: Sequence[str]) -> list[str]:
    """`--pairs A B --x` -> `--pairs A --pairs B --x`: bare words after such a flag are its values."""
    out: list[str] = []
    flag: str | None = None
    for arg in args:
        if arg == "--":
            flag = None
            out.append(arg)
        elif arg.startswith("-"):
            flag = arg if arg in MULTI_VALUE_OPTIONS else None
            out.append(arg)
        elif flag is not None and out[-1] != flag:
            out.extend((flag, arg))
        else:
            out.append(arg)
    return out


class MultiValueGroup(TyperGroup):
    """The `qari` group: space-separated values for the multi-value options of every sub-command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's own click Context
        return super().parse_args(ctx, expand_multi_values(args))


def parse_pairs(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """Pairs from repeated/space-/comma-separated values; order kept, duplicates dropped; None if none."""
    pairs: list[str] = []
    for value in values or ():
        for raw in value.replace(",", " ").split():
            name = normalise_pair(raw)
            if name not in pairs:
                pairs.append(name)
    return tuple(pairs) or None


_TIMERANGE_SIDE = re.compile(r"^(\d{8}|\d{10}|\d{13})?$")


def _timerange_side(text: str) -> dt.datetime | None:
    if not text:
        return None
    if len(text) == 8:
        return parse_utc(text)  # YYYYMMDD
    seconds = int(text) / (1000 if len(text) == 13 else 1)
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def parse_timerange(value: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """`20240101-20240301` -> (2024-01-01, 2024-03-01) UTC midnight; `20240101-` / `-20240301` open-ended."""
    if value is None:
        return None, None
    hint = "use YYYYMMDD-YYYYMMDD, e.g. 20240101-20240301 (either side may be empty)"
    start_text, sep, end_text = value.strip().partition("-")
    if not sep or not _TIMERANGE_SIDE.match(start_text) or not _TIMERANGE_SIDE.match(end_text):
        raise typer.BadParameter(f"{value!r}: {hint}", param_hint="--timerange")
    try:
        start, end = _timerange_side(start_text), _timerange_side(end_text)
    except ValueError:
        raise typer.BadParameter(f"{value!r} holds no valid date; {hint}", param_hint="--timerange") from None
    if start is None and end is None:
        raise typer.BadParameter(f"{value!r}: give a start, an end or both; {hint}", param_hint="--timerange")
    if start is not None and end is not None and end <= start:
        raise typer.BadParameter(f"{value!r}: the end is not after the start", param_hint="--timerange")
    return start, end


def parse_time(value: str | None, option: str) -> dt.datetime | None:
    """An ISO date/time (UTC unless it says otherwise)."""
    if value is None:
        return None
    try:
        return parse_utc(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; use e.g. 2024-03-01 or 2024-03-01T12:00", param_hint=option
        ) from None


def period(
    start: str | None, end: str | None, timerange: str | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The period from `--start/--end` or `--timerange` (not both)."""
    if timerange is not None and (start is not None or end is not None):
        raise typer.BadParameter(
            "give either --timerange or --start/--end, not both", param_hint="--timerange"
        )
    if timerange is not None:
        return parse_timerange(timerange)
    return parse_time(start, "--start"), parse_time(end, "--end")


def pairs_option(help_text: str) -> Any:
    return typer.Option("--pairs", "-p", help=help_text)
