"""Health per role: `qari worker` and `qari scheduler` answer liveness/readiness probes and serve
`/metrics` on `QARI_HEALTH_PORT`; with one `PROMETHEUS_MULTIPROC_DIR` a scrape of either shows the
machine's roles (prometheus_client's multi-process mode)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import asyncpg
import pytest
from tests.conftest import free_port
from tests.integration.engine.test_role_drain import (
    BROKER,
    _advisory_locks,
    _plain,
    _sandbox_worker_env,
    _scheduler,
    _stop,
    _unit_message,
    _wait_for,
)

from qari.adapters.persistence import migrate
from qari.adapters.simulator.harness import SandboxServer
from qari.adapters.tasks import MANAGE, RECONCILE, _unit_lock_key, make_broker, spawn_worker


@pytest.fixture
def queue() -> str:
    return f"qari-health-{uuid.uuid4().hex[:10]}"


def probe(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as reply:
            return int(reply.status), reply.read().decode()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read().decode()
    except OSError:
        return 0, ""  # not listening yet


async def until_ready(port: int, state: str, timeout: float = 120) -> dict[str, object]:
    async def ready() -> dict[str, object] | None:
        code, body = await asyncio.to_thread(probe, port, "/readyz")
        return json.loads(body) if code == 200 and json.loads(body)["state"] == state else None

    found: dict[str, object] = await _wait_for(ready, timeout, f"/readyz on port {port}")
    return found


def metric(scrape: str, line_start: str) -> float:
    for line in scrape.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in the scrape:\n{scrape}")


async def test_roles_when_probed_then_ready_states_and_per_role_metrics_then_not_ready_while_draining(
    tmp_path: Path, pg_url: str, sandbox_server: SandboxServer, queue: str
) -> None:
    await asyncio.to_thread(migrate.upgrade, pg_url)
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
    (tmp_path / "prom").mkdir()
    worker_port, scheduler_port = free_port(), free_port()
    worker = spawn_worker(
        {
            **_sandbox_worker_env(sandbox_server, pg_url, tmp_path, queue),
            **shared,
            "QARI_HEALTH_PORT": str(worker_port),
        },
        threads=2,
    )
    data = tmp_path / "scheduler"
    data.mkdir()
    scheduler = _scheduler(pg_url, data, queue, {**shared, "QARI_HEALTH_PORT": str(scheduler_port)})
    broker = make_broker(BROKER)
    conn = await asyncpg.connect(_plain(pg_url))
    try:
        assert (await until_ready(worker_port, "consuming"))["role"] == "worker"
        assert (await until_ready(scheduler_port, "leading"))["role"] == "scheduler"
        assert (await asyncio.to_thread(probe, worker_port, "/healthz"))[0] == 200

        await asyncio.to_thread(broker.enqueue, _unit_message(queue))

        async def recorded() -> list[asyncpg.Record]:
            return list(await conn.fetch("SELECT outcome FROM engine_units"))

        (row,) = await _wait_for(recorded, 90, "the unit's record")
        outcome = json.loads(row["outcome"]) if isinstance(row["outcome"], str) else row["outcome"]
        assert outcome["worker"].endswith(f":{worker.pid}") and outcome["seconds"] >= 0

        code, scrape = await asyncio.to_thread(probe, worker_port, "/metrics")
        assert code == 200
        assert metric(scrape, f'qari_task_units_total{{kind="{RECONCILE}",outcome="done"}}') == 1.0
        assert metric(scrape, f'qari_task_unit_seconds_count{{kind="{RECONCILE}"}}') == 1.0
        # One scrape, the machine's roles: the scheduler's state is in the worker's exposition.
        assert metric(scrape, 'qari_role_state{role="worker",state="consuming"}') == 1.0
        assert metric(scrape, 'qari_role_state{role="scheduler",state="leading"}') == 1.0

        assert await asyncio.to_thread(_stop, scheduler) == 0
        code, scrape = await asyncio.to_thread(probe, worker_port, "/metrics")
        assert 'qari_role_state{role="scheduler",state="leading"} 1.0' not in scrape  # its process is gone

        # Draining: SIGTERM while a unit waits on its user's lock; readiness drops, liveness holds.
        await conn.execute("SELECT pg_advisory_lock($1)", _unit_lock_key(1))
        await asyncio.to_thread(broker.enqueue, _unit_message(queue, kind=MANAGE))

        async def waiting() -> bool:
            return any(not granted for _, granted in await _advisory_locks(conn))

        await _wait_for(waiting, 90, "the second unit to start")
        worker.send_signal(signal.SIGTERM)

        async def draining() -> bool:
            code, body = await asyncio.to_thread(probe, worker_port, "/readyz")
            return code == 503 and json.loads(body)["state"] == "draining"

        await _wait_for(draining, 20, "/readyz to say draining")
        assert (await asyncio.to_thread(probe, worker_port, "/healthz"))[0] == 200
        await conn.execute("SELECT pg_advisory_unlock($1)", _unit_lock_key(1))
        assert await asyncio.to_thread(worker.wait, 15) == 0
    finally:
        for p in (worker, scheduler):
            if p.poll() is None:
                p.kill()
                p.wait()
        broker.close()
        await conn.close()


def test_probe_when_an_unknown_path_then_404_and_no_port_then_no_server() -> None:
    from qari.adapters import probe as role_probe

    port = free_port()
    health = role_probe.serve("worker", port=port)
    assert probe(port, "/nope")[0] == 404
    assert probe(port, "/readyz")[0] == 503  # still starting
    health.set("consuming")
    assert probe(port, "/readyz")[0] == 200
    health.set("failed")
    assert probe(port, "/healthz")[0] == 503
    os.environ.pop("QARI_HEALTH_PORT", None)
    quiet = role_probe.serve("scheduler")
    assert quiet.state == "starting" and role_probe.current() is quiet
