"""freqtrade's command-line forms: space-separated --pairs/--timeframes, --timerange, --datadir."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from qari.cli import app
from qari.cli.options import expand_multi_values, parse_pairs, parse_timerange, period

UTC = dt.UTC


def test_expand_when_values_follow_one_flag_then_each_gets_the_flag() -> None:
    args = ["backtest", "--pairs", "BTC/USDT", "ETH/USDT", "--out", "x", "-t", "15m", "4h", "--quiet"]
    assert expand_multi_values(args) == [
        *("backtest", "--pairs", "BTC/USDT", "--pairs", "ETH/USDT", "--out", "x"),
        *("-t", "15m", "-t", "4h", "--quiet"),
    ]
    assert expand_multi_values(["--pairs", "A", "--pairs", "B"]) == ["--pairs", "A", "--pairs", "B"]
    assert expand_multi_values(["--pairs=A", "--data", "d"]) == ["--pairs=A", "--data", "d"]


def test_parse_pairs_when_mixed_forms_then_usdt_pairs_once_in_order() -> None:
    assert parse_pairs(["btc", "ETH/USDT,sol_usdt", "BTC/USDT"]) == ("BTC/USDT", "ETH/USDT", "SOL/USDT")
    assert parse_pairs([]) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240101-20240301", (dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 3, 1, tzinfo=UTC))),
        ("20240101-", (dt.datetime(2024, 1, 1, tzinfo=UTC), None)),
        ("-20240301", (None, dt.datetime(2024, 3, 1, tzinfo=UTC))),
        ("1704067200-1704153600", (dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 1, 2, tzinfo=UTC))),
    ],
)
def test_parse_timerange_when_freqtrade_forms_then_utc_bounds(
    text: str, expected: tuple[dt.datetime | None, dt.datetime | None]
) -> None:
    assert parse_timerange(text) == expected


@pytest.mark.parametrize("text", ["2024-01-01", "20240101", "20241301-", "20240301-20240101", "-", "abc-def"])
def test_parse_timerange_when_malformed_then_bad_parameter_naming_the_form(text: str) -> None:
    with pytest.raises(typer.BadParameter, match=r"YYYYMMDD|end is not after"):
        parse_timerange(text)


def test_period_when_timerange_and_start_both_given_then_refused() -> None:
    with pytest.raises(typer.BadParameter, match="either --timerange or --start/--end"):
        period("2024-01-01", None, "20240101-")
    assert period(None, "2024-02-01", None) == (None, dt.datetime(2024, 2, 1, tzinfo=UTC))


def _candles(directory: Path, base: str, days: int = 12) -> None:
    start = 1_704_067_200_000  # 2024-01-01
    rows = [
        [start + i * 900_000, 100 + i % 7, 101 + i % 7, 99 + i % 7, 100.5 + i % 7, 10.0]
        for i in range(days * 96)
    ]
    (directory / f"{base}_USDT-15m.json").write_text(json.dumps(rows))


def test_scan_when_pairs_space_separated_and_datadir_then_both_scanned(tmp_path: Path) -> None:
    for base in ("AAA", "BBB", "CCC"):
        _candles(tmp_path, base)
    result = CliRunner().invoke(
        app,
        [
            "scan",
            "--datadir",
            str(tmp_path),
            "--pairs",
            "AAA/USDT",
            "BBB/USDT",
            "--at",
            "2024-01-11",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.output)["symbols"]) == ["AAA/USDT", "BBB/USDT"]


def test_backtest_when_pairs_space_separated_and_timerange_then_that_period_and_pairs(tmp_path: Path) -> None:
    for base in ("AAA", "BBB", "CCC"):
        _candles(tmp_path, base)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            *("backtest", "--datadir", str(tmp_path), "--pairs", "AAA/USDT", "BBB/USDT"),
            *("--timerange", "20240111-20240112", "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    # progress in candles and the replay's date, not seconds of market time ("7.95M s")
    assert "/194 candles, 2024-01-11 00:00 UTC" in result.stderr and "s/s" not in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pairs"] == ["AAA/USDT", "BBB/USDT"]
    assert summary["cycles"] == 96
    refused = CliRunner().invoke(
        app, ["backtest", "--data", str(tmp_path), "--timerange", "20240111-", "--start", "2024-01-11"]
    )
    assert refused.exit_code == 2 and "either --timerange or --start/--end" in refused.output


def test_sandbox_when_datadir_given_then_taken_as_the_replay_folder(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["sandbox", "--datadir", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "is not a directory" in missing.output
