"""The deployment layout of docs/deploy.md, tested: the repository's Procfile, read as honcho/foreman
read it (its `$PORT` per process), starts `qari web`, `qari scheduler` and `qari worker` against
PostgreSQL and RabbitMQ; each becomes healthy, then SIGTERM stops each cleanly (exit 0)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import honcho.environ
import pytest
from tests.conftest import free_port
from tests.integration.engine.test_engine_tasks import BROKER

from qari.adapters.vault.keys import write_key_file

ROOT = Path(__file__).resolve().parents[3]
HEALTH = {"web": "/healthz", "scheduler": "/readyz", "worker": "/readyz"}


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return int(reply.status), reply.read().decode()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read().decode()
    except OSError:
        return 0, ""


def test_procfile_when_its_processes_start_then_each_is_healthy_and_sigterm_exits_0(
    tmp_path: Path, pg_url: str
) -> None:
    procfile = honcho.environ.parse_procfile((ROOT / "Procfile").read_text())
    assert set(procfile.processes) == {"web", "scheduler", "worker"}
    data = tmp_path / "data"
    data.mkdir()
    key = tmp_path / "keys" / "master.key"
    write_key_file(key, os.urandom(32))  # as an operator provisions it, before the first start
    (tmp_path / "prom").mkdir()
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "QARI_DATABASE_URL": pg_url,
        "QARI_BROKER_URL": BROKER,
        "QARI_TASK_QUEUE": f"qari-procfile-{uuid.uuid4().hex[:10]}",
        "QARI_DATA_DIR": str(data),
        "QARI_MASTER_KEY_FILE": str(key),
        "QARI_WORKER_THREADS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
    }
    # The web role migrates the schema; the others start after it answers (systemd: After=).
    order = ["web", "scheduler", "worker"]
    params = {
        p.name.split(".")[0]: p
        for p in honcho.environ.expand_processes(procfile.processes, env=env, port=free_port())
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs = {name: (tmp_path / f"{name}.log") for name in order}
    try:
        for name in order:
            port = int(params[name].env["PORT"])
            with logs[name].open("wb") as log:
                # The line as honcho runs it (`sh -c`), the shell replaced by the role (as systemd
                # runs it) so the signal and the exit code are the role's own.
                processes[name] = subprocess.Popen(
                    f"exec {params[name].cmd}",
                    shell=True,
                    env=params[name].env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            url = f"http://127.0.0.1:{port}{HEALTH[name]}"
            deadline = time.monotonic() + 120  # a loaded 2-core machine starts three roles slowly
            code, body = _get(url)
            while code != 200 and time.monotonic() < deadline:
                assert processes[name].poll() is None, f"{name} exited:\n{logs[name].read_text()[-3000:]}"
                time.sleep(0.2)
                code, body = _get(url)
            assert code == 200, f"{name} never became healthy:\n{logs[name].read_text()[-3000:]}"
            if name != "web":
                assert json.loads(body)["role"] == name
        web_port = int(params["web"].env["PORT"])
        code, scrape = _get(f"http://127.0.0.1:{web_port}/metrics")
        assert code == 200
        for role, state in (("worker", "consuming"), ("scheduler", "leading"), ("web", "serving")):
            assert f'qari_role_state{{role="{role}",state="{state}"}} 1.0' in scrape, role
        for name in reversed(order):
            processes[name].send_signal(signal.SIGTERM)
        for name in reversed(order):
            code = processes[name].wait(60)
            assert code == 0, f"{name} exited {code}:\n{logs[name].read_text()[-3000:]}"
    finally:
        for p in processes.values():
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.parametrize(
    "unit, role",
    [
        ("qari-web.service", "web"),
        ("qari-scheduler.service", "scheduler"),
        ("qari-worker@.service", "worker"),
    ],
)
def test_systemd_units_when_read_then_each_runs_its_role_and_stops_with_sigterm(unit: str, role: str) -> None:
    text = (ROOT / "deploy" / "systemd" / unit).read_text()
    exec_start = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    assert len(exec_start) == 1 and f"/bin/qari {role}" in exec_start[0]
    assert "KillSignal=SIGTERM" in text and "EnvironmentFile=/etc/qari/qari.env" in text
    assert "PROMETHEUS_MULTIPROC_DIR=/run/qari-metrics" in text
