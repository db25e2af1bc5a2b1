"""`qari web`: how many uvicorn workers (QARI_WEB_WORKERS), and what each worker's app is handed."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from qari.adapters.signer.client import SignerClient
from qari.cli import app, web_workers
from qari.config import get_settings


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[int]]:
    """Runs `qari web` up to the point it would serve; yields the worker counts it asked for."""
    from qari.cli import serve

    asked: list[int] = []
    monkeypatch.setattr(serve, "run_web_process", lambda *, workers: asked.append(workers))
    for name in ("QARI_WEB_WORKERS", "QARI_SANDBOX_ENABLED", "QARI_ENGINE_MODE"):
        monkeypatch.setenv(name, "")  # recorded, so `qari web` setting QARI_ENGINE_MODE is undone
        monkeypatch.delenv(name)
    monkeypatch.setenv("QARI_DATA_DIR", str(tmp_path / "var"))
    yield asked
    get_settings.cache_clear()


def test_web_when_sandbox_off_then_two_workers_by_default_and_the_count_asked_for(
    started: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QARI_SANDBOX_ENABLED", "false")
    assert CliRunner().invoke(app, ["web"]).exit_code == 0
    monkeypatch.setenv("QARI_WEB_WORKERS", "3")
    assert CliRunner().invoke(app, ["web"]).exit_code == 0
    assert CliRunner().invoke(app, ["web", "--workers", "4"]).exit_code == 0
    assert started == [2, 3, 4]


def test_web_when_sandbox_mounted_then_one_worker_and_more_refused(
    started: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CliRunner().invoke(app, ["web"]).exit_code == 0  # the sandbox is mounted by default
    monkeypatch.setenv("QARI_WEB_WORKERS", "2")
    result = CliRunner().invoke(app, ["web"])
    assert result.exit_code == 2
    assert "QARI_SANDBOX_ENABLED=false" in result.output
    assert started == [1]


def test_worker_config_when_pickled_to_a_worker_then_its_app_gets_the_signer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """uvicorn pickles its config to each spawned worker: the signer client rides along (not in the
    environment) and the worker's app factory hands it to the app."""
    monkeypatch.setenv("QARI_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("QARI_ENGINE_MODE", "off")
    monkeypatch.setenv("QARI_SANDBOX_ENABLED", "false")
    # A worker process sets up its own logging; here it would quieten httpx for the tests that follow.
    monkeypatch.setattr(web_workers, "configure_logging", lambda *args, **kwargs: None)
    from qari.cli import serve

    monkeypatch.setattr(serve, "quiet_http_logs", lambda debug: None)
    get_settings.cache_clear()
    signer = SignerClient(tmp_path / "signer.sock", "the-token")
    config = web_workers._WorkerConfig(
        "qari.cli.web_workers:worker_app", factory=True, workers=2, log_config=None, signer=signer
    )
    copy = pickle.loads(pickle.dumps(config))
    copy.load()
    loaded: Any = copy.loaded_app
    while not isinstance(loaded, FastAPI):
        loaded = loaded.app  # uvicorn's proxy-headers wrapper
    got = loaded.state.signer
    assert isinstance(got, SignerClient) and got.path == signer.path and got._token == "the-token"
    assert "the-token" not in repr(got)
    get_settings.cache_clear()
