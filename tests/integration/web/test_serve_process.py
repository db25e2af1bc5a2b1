"""`qari serve` as a real process: answers /healthz; bad configuration is one line, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
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
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # a loaded CI machine starts it slowly
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
        out, err = proc.communicate(timeout=30)
    assert "generated a new master key" in err
    # a newcomer is told where to go and who becomes the operator; requests are not logged at INFO
    assert f"open http://127.0.0.1:{port} in a browser" in out
    assert "first account registered there becomes the operator" in out
    assert "/healthz" not in err
    assert (tmp_path / "var-keys" / "master.key").exists()


def test_serve_when_bad_configuration_then_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from qari.cli.serve import serve
    from qari.config import get_settings

    monkeypatch.setenv("QARI_PORT", "not-a-port")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exit_info:
            serve()
    finally:
        get_settings.cache_clear()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert err.startswith("qari: invalid configuration: QARI_PORT")
