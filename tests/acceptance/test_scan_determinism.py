"""Determinism: `qari scan --json` twice on the same input prints byte-identical JSON."""

from __future__ import annotations

import json

from scan_support import DOMINANCE, require_market_data
from typer.testing import CliRunner

from qari.cli import app


def test_scan_json_when_run_twice_then_byte_identical() -> None:
    data = require_market_data()
    args = [
        "scan",
        "--data",
        str(data),
        "--at",
        "2024-06-03T14:30:00Z",
        "--json",
        "--pairs",
        "BTC/USDT,SOL/USDT,ETH/USDT,ARKM/USDT",
    ]
    if DOMINANCE.is_file():
        args += ["--dominance", str(DOMINANCE)]
    runner = CliRunner()

    first = runner.invoke(app, args)
    second = runner.invoke(app, args)

    assert first.exit_code == 0, first.output
    assert first.stdout.encode() == second.stdout.encode()
    body = json.loads(first.stdout)
    assert body["at"] == "2024-06-03T14:30:00Z"
    assert sorted(body["symbols"]) == ["ARKM/USDT", "BTC/USDT", "ETH/USDT", "SOL/USDT"]
    for verdict in body["symbols"].values():
        assert set(verdict) == {"layers", "score", "agreeing", "candidate"}
        assert [x["layer"] for x in verdict["layers"]] == list(range(1, 12))
        assert set(verdict["layers"][0]) == {"layer", "name", "vote", "score", "explanation", "evidence"}
        assert verdict["agreeing"] == sum(x["vote"] == "agree" for x in verdict["layers"])
        assert verdict["candidate"] is None or set(verdict["candidate"]) == {
            "entry_low",
            "entry_high",
            "stop",
            "pt1",
            "pt2",
            "explanation",
        }


def test_scan_when_data_dir_missing_then_exit_2_with_message(tmp_path) -> None:
    result = CliRunner().invoke(
        app, ["scan", "--data", str(tmp_path / "nope"), "--at", "2024-06-03T14:30:00Z"]
    )

    assert result.exit_code == 2
    assert "not a directory" in result.output


def test_scan_when_time_not_iso_then_exit_2_with_hint() -> None:
    data = require_market_data()
    result = CliRunner().invoke(
        app, ["scan", "--data", str(data), "--at", "yesterday", "--pairs", "BTC/USDT"]
    )

    assert result.exit_code == 2
    assert "ISO" in result.output
