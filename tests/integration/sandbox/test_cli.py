"""`qari sandbox` as a user runs it: a process serving Bybit v5 at the root of its base URL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from typer.testing import CliRunner

from qari.cli import app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "qari", "sandbox", *args]


TOKEN = "cli-test-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    "QARI_SANDBOX_ADMIN_TOKEN": TOKEN,
}


@contextmanager
def _serving(*args: str, probe: str = "/v5/market/time") -> Iterator[str]:
    port = _free_port()
    child = subprocess.Popen(
        _command("--port", str(port), *args), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded CI machine starts it slowly
        while True:
            try:
                httpx.get(f"{base}{probe}", timeout=1)
                break
            except httpx.HTTPError:
                assert child.poll() is None, child.stderr.read() if child.stderr else b""
                assert time.monotonic() < deadline, "qari sandbox did not answer within 120 s"
                time.sleep(0.1)
        yield base
    finally:
        child.terminate()
        child.wait(timeout=10)


def test_cli_when_replaying_candle_files_then_serves_bybit_and_admin(tmp_path: Path) -> None:
    now_ms = int(time.time() * 1000)
    start = now_ms - 40 * 86_400_000
    rows = [
        [start + i * 3_600_000, 2.0 + i * 0.001, 2.1 + i * 0.001, 1.9, 2.05, 100.0] for i in range(40 * 24)
    ]
    (tmp_path / "ABC_USDT-1h.json").write_text(json.dumps(rows))
    with _serving("--data", str(tmp_path), "--stepped") as base:
        info = httpx.get(f"{base}/v5/market/instruments-info?category=spot").json()
        assert [row["symbol"] for row in info["result"]["list"]] == ["ABCUSDT"]
        assert httpx.post(f"{base}/admin/keys", json={}).status_code == 401  # no token, no keys
        key = httpx.post(f"{base}/admin/keys", json={"balances": {"USDT": "100"}}, headers=ADMIN).json()
        assert set(key) == {"api_key", "api_secret", "account_id"}
        clock = httpx.post(f"{base}/admin/clock", json={"advance_ms": 3_600_000}, headers=ADMIN).json()
        assert clock["mode"] == "stepped"
        candles = httpx.get(f"{base}/v5/market/kline?category=spot&symbol=ABCUSDT&interval=60&limit=3").json()
        assert len(candles["result"]["list"]) == 3


def test_cli_when_options_conflict_or_dir_missing_then_exit_2_with_reason(tmp_path: Path) -> None:
    runner = CliRunner()
    both = runner.invoke(app, ["sandbox", "--data", str(tmp_path), "--synthetic", "3"])
    assert both.exit_code == 2 and "either --data" in both.output
    missing = runner.invoke(app, ["sandbox", "--data", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "not a directory" in missing.output
    empty = runner.invoke(app, ["sandbox", "--data", str(tmp_path)])
    assert empty.exit_code == 2 and "no candle files" in empty.output


def test_cli_when_start_without_data_bad_or_outside_the_data_then_exit_2_with_reason(tmp_path: Path) -> None:
    rows = [[1_704_067_200_000 + i * 3_600_000, 2.0, 2.1, 1.9, 2.05, 100.0] for i in range(48)]
    (tmp_path / "ABC_USDT-1h.json").write_text(json.dumps(rows))
    runner = CliRunner()
    alone = runner.invoke(app, ["sandbox", "--start", "2024-01-01T12:00"])
    assert alone.exit_code == 2 and "--start needs --data" in alone.output
    garbled = runner.invoke(app, ["sandbox", "--data", str(tmp_path), "--start", "soon"])
    assert garbled.exit_code == 2 and "not a time" in garbled.output
    outside = runner.invoke(app, ["sandbox", "--data", str(tmp_path), "--start", "2024-03-01"])
    assert outside.exit_code == 2
    assert "outside the data (2024-01-01T00:00Z to 2024-01-02T23:00Z)" in outside.output


def test_cli_when_replay_started_at_a_moment_then_the_clock_runs_from_it(tmp_path: Path) -> None:
    start = 1_704_067_200_000  # 2024-01-01 (the data's own time)
    rows = [[start + i * 3_600_000, 2.0, 2.1, 1.9, 2.05, 100.0] for i in range(48)]
    (tmp_path / "ABC_USDT-1h.json").write_text(json.dumps(rows))
    moment = start + 12 * 3_600_000
    with _serving("--data", str(tmp_path), "--start", "2024-01-01T12:00Z") as base:
        clock = httpx.get(f"{base}/admin/clock", headers=ADMIN).json()
        assert clock["mode"] == "replay" and clock["speed"] == 1
        assert (clock["now_ms"] - moment) % (7 * 86_400_000) < 60_000
        assert clock["now_ms"] <= clock["real_now_ms"]


def test_cli_when_protocol_binance_then_serves_binance_spot_with_recorded_rules_and_not_bybit() -> None:
    with _serving("--protocol", "binance", "--stepped", probe="/api/v3/time") as base:
        info = httpx.get(f"{base}/api/v3/exchangeInfo").json()
        rules = {row["symbol"]: {f["filterType"]: f for f in row["filters"]} for row in info["symbols"]}
        assert rules["BTCUSDT"]["PRICE_FILTER"]["tickSize"] == "0.01000000"  # Binance's recorded rule
        assert rules["BTCUSDT"]["LOT_SIZE"]["stepSize"] == "0.00001000"
        assert "SOLUSDT" in rules  # not in the recording: listed by the formula
        bybit = httpx.get(f"{base}/v5/market/time")
        assert bybit.status_code == 404


def test_cli_when_protocol_okx_then_serves_okx_v5_with_recorded_rules() -> None:
    with _serving("--protocol", "okx", "--stepped", probe="/api/v5/public/time") as base:
        answer = httpx.get(f"{base}/api/v5/public/instruments?instType=SPOT").json()
        rows = {row["instId"]: row for row in answer["data"]}
        assert answer["code"] == "0" and rows["BTC-USDT"]["tickSz"] == "0.1"  # OKX's recorded rule
        assert "SOL-USDT" in rows


def test_cli_when_protocol_unknown_then_exit_2_naming_the_choices() -> None:
    result = CliRunner().invoke(app, ["sandbox", "--protocol", "kraken"])
    assert result.exit_code == 2 and "bybit, binance, okx" in result.output
