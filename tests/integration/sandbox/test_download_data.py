"""`qari download-data` end to end: real async ccxt `bybit` against the sandbox's public kline endpoint
over loopback HTTP, freqtrade-layout feather files, incremental re-runs, then `qari backtest` on them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from qari.adapters.simulator.app import build_venue
from qari.adapters.simulator.harness import FIXTURE_START_MS, SandboxServer
from qari.cli import app
from qari.market.candle_files import load_candle_file

DAY_MS = 86_400_000
Q15 = 900_000


def _download(base_url: str, datadir: Path, *extra: str) -> str:
    args = ["download-data", "--exchange", "sandbox", "--exchange-url", base_url, "--datadir", str(datadir)]
    result = CliRunner().invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_download_data_when_run_twice_then_freqtrade_files_fetched_once_and_backtest_reads_them(
    tmp_path: Path,
) -> None:
    datadir = tmp_path / "sandbox"
    out = tmp_path / "bt"
    with SandboxServer.start() as sandbox:
        first = _download(
            sandbox.base_url,
            datadir,
            *("--pairs", "BTC/USDT", "ETH/USDT", "--timeframes", "15m", "4h", "1d", "--days", "11"),
        )
        names = sorted(p.name for p in datadir.iterdir())
        assert names == [f"{b}_USDT-{tf}.feather" for b in ("BTC", "ETH") for tf in ("15m", "1d", "4h")], (
            first
        )
        frame = pd.read_feather(datadir / "BTC_USDT-15m.feather")
        assert list(frame.columns) == ["date", "open", "high", "low", "close", "volume"]
        assert str(frame["date"].dt.tz) == "UTC"
        # 11 days of closed 15m candles ending before the forming one (the sandbox clock: 2026-01-01)
        opens = frame["date"].dt.as_unit("ms").astype("int64").tolist()
        assert opens[0] == FIXTURE_START_MS - 11 * DAY_MS and opens[-1] == FIXTURE_START_MS - Q15
        assert len(opens) == 11 * 96
        venue_rows = sandbox.venue.exchange.klines_float("BTC/USDT", "15m", opens[0], None, 5)
        assert frame.iloc[:5, 1:].to_numpy().tolist() == [row[1:6] for row in venue_rows]
        assert len(load_candle_file(datadir / "ETH_USDT-4h.feather")) == 11 * 6

        again = _download(sandbox.base_url, datadir, "--pairs", "BTC/USDT", "ETH/USDT", "--days", "11")
        assert again.count("+0 candles") == 6, again

        # a file missing its last 100 candles gets exactly those back; the others are untouched
        path = datadir / "ETH_USDT-15m.feather"
        frame.iloc[:-100].reset_index(drop=True).to_feather(path)
        before = (datadir / "BTC_USDT-15m.feather").stat().st_mtime_ns
        third = _download(
            sandbox.base_url, datadir, "-p", "BTC/USDT", "ETH/USDT", "-t", "15m", "--days", "11"
        )
        assert "ETH/USDT 15m: +100 candles, 1056 in" in third and "BTC/USDT 15m: +0 candles" in third
        assert (datadir / "BTC_USDT-15m.feather").stat().st_mtime_ns == before

    # the sandbox replay (QARI_SANDBOX_DATA / qari sandbox --datadir) serves the downloaded files
    replay = build_venue(data_dir=datadir, stepped_start_ms=FIXTURE_START_MS - DAY_MS)
    assert sorted(replay.exchange.instruments()) == ["BTC/USDT", "ETH/USDT"]
    assert replay.exchange.price("BTC/USDT") > 0

    result = CliRunner().invoke(
        app, ["backtest", "--datadir", str(datadir), "--pairs", "BTC/USDT", "ETH/USDT", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pairs"] == ["BTC/USDT", "ETH/USDT"]
    assert summary["cycles"] == 96  # the day after the 10-day warm-up


def test_download_data_when_input_is_bad_then_exit_2_with_the_reason(tmp_path: Path) -> None:
    runner = CliRunner()
    with SandboxServer.start() as sandbox:
        base = ["download-data", "--exchange", "sandbox", "--exchange-url", sandbox.base_url]
        unknown_tf = runner.invoke(
            app, [*base, "--pairs", "BTC/USDT", "-t", "7m", "--datadir", str(tmp_path)]
        )
        both = runner.invoke(app, [*base, "--pairs", "BTC/USDT", "--days", "3", "--timerange", "20251201-"])
        unknown_pair = runner.invoke(app, [*base, "--pairs", "ZZZ/USDT", "--datadir", str(tmp_path)])
    unknown_exchange = runner.invoke(app, ["download-data", "--exchange", "nasdaq", "--pairs", "BTC/USDT"])
    assert unknown_tf.exit_code == 2 and "7m" in unknown_tf.output and "15m" in unknown_tf.output
    assert both.exit_code == 2 and "either --days or --timerange" in both.output
    assert unknown_pair.exit_code == 2 and "sandbox does not list that pair" in unknown_pair.output
    assert unknown_exchange.exit_code == 2 and "unknown exchange 'nasdaq'" in unknown_exchange.output
