"""The one UTC convention (`core.time.as_utc`, `parse_utc`): a naive time means UTC, said in one place."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from qari.core.time import UTC, as_utc, parse_utc

SRC = Path(__file__).resolve().parents[2] / "src" / "qari"
NAIVE_TO_UTC = re.compile(r"replace\(\s*tzinfo\s*=\s*(dt\.)?(UTC|timezone\.utc|datetime\.UTC)")


def test_as_utc_when_naive_then_utc_and_when_aware_then_unchanged() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    aware = dt.datetime(2024, 3, 1, 12, tzinfo=plus_two)

    assert as_utc(dt.datetime(2024, 3, 1, 12)) == dt.datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert as_utc(aware) is aware
    assert as_utc(None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01", dt.datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-01T12:00", dt.datetime(2024, 3, 1, 12, tzinfo=UTC)),
        (" 2024-03-01T12:00:00Z ", dt.datetime(2024, 3, 1, 12, tzinfo=UTC)),
        ("2024-03-01T14:00+02:00", dt.datetime(2024, 3, 1, 12, tzinfo=UTC)),
    ],
)
def test_parse_utc_when_iso_then_aware_instant(text: str, expected: dt.datetime) -> None:
    parsed = parse_utc(text)
    assert parsed == expected and parsed.tzinfo is not None


def test_parse_utc_when_not_a_time_then_value_error() -> None:
    with pytest.raises(ValueError):
        parse_utc("yesterday")


def test_naive_means_utc_is_said_only_in_core_time() -> None:
    """No module keeps its own copy of the convention (they drifted: services, repositories, CLI, routes)."""
    copies = [
        f"{path.relative_to(SRC)}:{n}"
        for path in sorted(SRC.rglob("*.py"))
        if path != SRC / "core" / "time.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if NAIVE_TO_UTC.search(line)
    ]
    assert copies == []
