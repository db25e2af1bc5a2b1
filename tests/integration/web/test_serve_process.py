"""`qari serve` as a real process: answers /healthz; bad configuration is one line, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests.conftest import free_port

SRC = Path(__file__).resolve().parents[3] / "src"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QARI_")}
    return (
        env
        | {"PYTHONPATH": str(SRC), "QARI_DATA_DIR": str(tmp_path / "var"), "QARI_ENGINE_MODE": "off"}
        | extra
    )


def test_serve_when_started_then_healthz_200(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "qari", "serve"],
        env=_env(tmp_path, QARI_PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert status == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "generated a new master key" in err
    assert (tmp_path / "var-keys" / "master.key").exists()


def test_serve_when_bad_configuration_then_one_line_and_exit_2(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "qari", "serve"],
        env=_env(tmp_path, QARI_PORT="not-a-port"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0
    assert run.stderr.startswith("qari: invalid configuration: QARI_PORT")
