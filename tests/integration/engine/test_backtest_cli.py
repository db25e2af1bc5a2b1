"""`qari backtest` end to end on a small self-made candle set, and its answers to bad input."""

from __future__ import annotations

import html
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from qari.cli import app

START_MS = 1_704_067_200_000  # 2024-01-01T00:00Z
STEP_MS = 15 * 60 * 1000


def _write_candles(directory: Path, base: str, seed: int, days: int = 12) -> None:
    """A seeded random walk written as a freqtrade-style JSON candle file (15m)."""
    rng = np.random.default_rng(seed)
    n = days * 96
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.003, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.003, n))
    volume = rng.uniform(100, 1000, n)
    rows = [
        [START_MS + i * STEP_MS, round(o, 6), round(h, 6), round(lo, 6), round(c, 6), round(v, 3)]
        for i, (o, h, lo, c, v) in enumerate(zip(open_, high, low, close, volume, strict=True))
    ]
    (directory / f"{base}_USDT-15m.json").write_text(json.dumps(rows))


def test_backtest_cli_when_run_on_candle_files_then_writes_the_four_outputs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for seed, base in enumerate(("AAA", "BBB")):
        _write_candles(data, base, seed)
    out = tmp_path / "out"

    result = CliRunner().invoke(
        app,
        ["backtest", "--data", str(data), "--start", "2024-01-11", "--balance", "5000", "--out", str(out)],
    )

    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"trades.csv", "trades.json", "summary.json", "report.html"}
    assert isinstance(json.loads((out / "trades.json").read_text()), list)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["start_balance_usdt"] == "5000"
    assert summary["pairs"] == ["AAA/USDT", "BBB/USDT"]
    assert summary["cycles"] == 192
    for key in ("win_rate", "average_r", "expectancy_r", "profit_factor", "max_drawdown_pct", "sharpe"):
        assert key in summary
    assert "<svg" in (out / "report.html").read_text()


def test_backtest_cli_when_input_is_bad_then_exit_2_with_a_clear_message(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _write_candles(data, "AAA", 1, days=2)
    runner = CliRunner()

    missing = runner.invoke(app, ["backtest", "--data", str(tmp_path / "nope")])
    unknown_pair = runner.invoke(app, ["backtest", "--data", str(data), "--pairs", "ZZZ"])
    bad_balance = runner.invoke(app, ["backtest", "--data", str(data), "--balance", "-5"])
    bad_date = runner.invoke(app, ["backtest", "--data", str(data), "--start", "yesterday"])

    assert missing.exit_code == 2 and "not a directory" in missing.output
    assert unknown_pair.exit_code == 2 and "ZZZ/USDT" in unknown_pair.output
    assert bad_balance.exit_code == 2 and "positive" in bad_balance.output
    assert bad_date.exit_code == 2 and "2024-03-01" in bad_date.output


def test_backtest_cli_when_run_then_console_summary_and_report_agree_with_market_change(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for seed, base in enumerate(("AAA", "BBB")):
        _write_candles(data, base, seed)
    out = tmp_path / "out"

    result = CliRunner().invoke(
        app,
        [
            *("backtest", "--datadir", str(data), "--pairs", "AAA/USDT", "BBB/USDT"),
            *("--timerange", "20240111-", "--out", str(out), "--quiet"),
        ],
    )

    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    changes = []
    for base in ("AAA", "BBB"):  # buy and hold over the period: first and last 15m close from 2024-01-11
        rows = json.loads((data / f"{base}_USDT-15m.json").read_text())
        closes = [row[4] for row in rows if row[0] >= START_MS + 10 * 86_400_000]
        changes.append(closes[-1] / closes[0] - 1)
    expected = sum(changes) / len(changes) * 100
    assert summary["market_change_pct"] == pytest.approx(expected, abs=1e-6)
    console = result.output.splitlines()[0]
    assert f"Market change {expected:+.2f} %" in console
    assert f"Closed trades {summary['trades']}," in console
    assert f"Net P&L (closed) {Decimal(summary['net_pnl_usdt']):,.2f} USDT" in console
    assert f"End equity {Decimal(summary['end_equity_usdt']):,.2f} USDT" in console
    assert f"Open at end {len(summary['open_positions'])}," in console
    assert summary["open_positions_at_end"] == len(summary["open_positions"])
    assert html.unescape((out / "report.html").read_text()).count(console) == 1
