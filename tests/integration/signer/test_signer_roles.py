"""Issue 18: the scaled-out roles reach a signer on their own machine; none holds the master key.

Real processes: `qari worker` (its `qari signer` child started by `start_or_reach`, as `qari serve`
does), RabbitMQ, PostgreSQL and the sandbox venue. The role's memory is read via /proc/<pid>/mem
(`memory_holds`, as for `qari serve` in test_signer_isolation.py); the signer's log names every order
it placed. `qari web` is covered beside `qari serve` in test_signer_isolation.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.integration.engine.support import MARKET_DATA_DIR as MARKET_DATA
from tests.integration.engine.support import stepped_sandbox_engine
from tests.integration.signer.test_signer_isolation import _env, key_forms, memory_holds
from tests.market_data import needs_market_data

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.journal import ensure_users
from qari.adapters.persistence.tables.exchange import ExchangeConnection
from qari.adapters.simulator.harness import SandboxServer
from qari.adapters.tasks import TaskExecutor, UnitFailed
from qari.adapters.vault.keys import open_vault
from qari.config import load_settings
from qari.core.clocks import WallClock
from qari.core.time import to_ms
from qari.engine.cycle import Timeouts, UserUnit
from qari.engine.roles import SandboxWorkerSpec, sandbox_worker_env
from qari.services import exchange_keys

PAIRS = ("SUI/USDT", "APT/USDT", "AVAX/USDT", "BCH/USDT", "LTC/USDT", "INJ/USDT", "DOGE/USDT", "LINK/USDT")
AT = dt.datetime(2024, 8, 9, 15, 0, tzinfo=dt.UTC)  # several fresh candidates (test_engine_tasks.py)
BROKER = os.environ.get("QARI_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")


@contextmanager
def role_process(
    env: dict[str, str], log: Path, role: tuple[str, ...] = ("worker", "--threads", "4")
) -> Iterator[subprocess.Popen[bytes]]:
    """`qari <role>` with `env`; its stderr (and its signer's, inherited) goes to `log`."""
    with log.open("wb") as sink:
        child = subprocess.Popen(
            [sys.executable, "-m", "qari", *role],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            yield child
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def signer_child(pid: int) -> int:
    """The role's one child, which must be `qari signer`."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert len(children) == 1, children
    assert "signer" in Path(f"/proc/{children[0]}/cmdline").read_text()
    return int(children[0])


async def store_keys(
    settings: object, sandbox_url: str, accounts: dict[int, tuple[str, str]]
) -> dict[int, int]:
    """Seal each user's sandbox key in the database (as the connect flow does); user -> connection id."""
    db = make_engine(settings.resolved_database_url)  # type: ignore[attr-defined]
    sessions = make_sessionmaker(db)
    vault = await open_vault(settings, sessions)  # type: ignore[arg-type]  # a fresh install: writes the key file
    now = dt.datetime.now(dt.UTC)
    connections = {}
    try:
        for user_id, (api_key, api_secret) in accounts.items():
            async with sessions() as session:
                data = exchange_keys.validate_input("sandbox", api_key, api_secret, None)
                secret_id = await exchange_keys._seal(session, vault, user_id, data)
                row = ExchangeConnection(
                    user_id=user_id,
                    exchange="sandbox",
                    key_hint=api_key[-4:],
                    secret_id=secret_id,
                    status="connected",
                    ips=[],
                    permissions={},
                    created_at=now,
                )
                session.add(row)
                await session.commit()
                connections[user_id] = row.id
    finally:
        await db.dispose()
    del vault
    return connections


@needs_market_data
async def test_worker_when_its_units_trade_stored_keys_then_its_signer_places_every_order_and_it_holds_no_key(
    tmp_path: Path, pg_url: str
) -> None:
    users = 1
    data_dir = tmp_path / "var"
    settings = load_settings(data_dir=data_dir, database_url=pg_url)
    queue = f"qari-test-{uuid.uuid4().hex[:10]}"
    with SandboxServer.start(
        data_dir=MARKET_DATA, symbols=[*PAIRS, "BTC/USDT"], stepped_start_ms=to_ms(AT) - 300_000
    ) as sandbox:
        keys = {u: sandbox.create_key(balances={"USDT": "10000"}) for u in range(1, users + 1)}
        await asyncio.to_thread(migrate.upgrade, pg_url)
        db = make_engine(pg_url)
        try:
            await ensure_users(make_sessionmaker(db), list(keys))
        finally:
            await db.dispose()
        connections = await store_keys(settings, sandbox.base_url, keys)
        spec = SandboxWorkerSpec(
            base_url=sandbox.base_url,
            timeout_ms=10_000,
            accounts={},  # no key in the worker's spec: only the stored connections
            database_url=pg_url,
            exchange_id="sandbox",
            cycle_seconds=300,
            concurrency=4,
            stepped=True,
            connections=connections,
        )
        env = _env(data_dir, QARI_DATABASE_URL=pg_url) | sandbox_worker_env(spec, tmp_path, BROKER, queue)
        log = tmp_path / "worker.log"
        with role_process(env, log) as worker:  # starts (with its signer) while the engine is built
            # The scheduler's side: its engine sends every unit to the queue (accounts: only user ids).
            run = await stepped_sandbox_engine(
                sandbox,
                tmp_path,
                accounts={u: ("", "") for u in keys},
                start=AT - dt.timedelta(minutes=5),
                pairs=PAIRS,
                step=300,
                timeouts=Timeouts(
                    refresh_seconds=120, user_seconds=60, manage_seconds=60, max_concurrent_users=8
                ),
                database_url=pg_url,
                broker_url=BROKER,
                queue=queue,
            )
            try:
                await run.engine.scheduler.sleep_until(AT)
                report = await run.engine.cycle.run_cycle(AT)
            finally:
                await run.engine.stop()
            assert worker.poll() is None, log.read_text()
            signer_pid = signer_child(worker.pid)
            master = key_forms(tmp_path / "var-keys" / "master.key")
            secrets = [secret.encode() for _, secret in keys.values()]
            in_worker = memory_holds(worker.pid, [*master, *secrets])
            in_signer = memory_holds(signer_pid, master)
        placed = [o["orderLinkId"] for key, _ in keys.values() for o in sandbox.orders(key)]
    assert all(u.error is None for u in report.units), [u.error for u in report.units]
    assert sum(u.outcome.orders_sent for u in report.units if u.outcome is not None) >= users
    assert placed, "no order reached the venue: nothing was signed"
    said = log.read_text()
    assert all(f"signer: placed order {client_id}" in said for client_id in placed), said[-3000:]
    assert in_worker == [False] * len(in_worker), "the worker holds the master key or an API secret"
    assert any(in_signer), "the scan finds the master key where it is (the signer): the scan works"


async def fresh_install(tmp_path: Path, pg_url: str) -> Path:
    """A migrated database and its master key file (written by the vault's first start); the data dir."""
    data_dir = tmp_path / "var"
    await asyncio.to_thread(migrate.upgrade, pg_url)
    db = make_engine(pg_url)
    try:
        await open_vault(load_settings(data_dir=data_dir, database_url=pg_url), make_sessionmaker(db))
    finally:
        await db.dispose()
    return data_dir


async def test_live_worker_when_it_has_run_a_unit_then_its_memory_has_no_master_key(
    tmp_path: Path, pg_url: str
) -> None:
    """A live `qari worker` (no spec: the stored users' connections) built its units on its first
    message; the master key is in its signer child, not in it."""
    data_dir = await fresh_install(tmp_path, pg_url)
    queue = f"qari-test-{uuid.uuid4().hex[:10]}"
    env = _env(data_dir, QARI_DATABASE_URL=pg_url, QARI_BROKER_URL=BROKER, QARI_TASK_QUEUE=queue)
    log = tmp_path / "worker.log"
    executor = TaskExecutor(pg_url, WallClock(), broker_url=BROKER, queue=queue)
    with role_process(env, log) as worker:
        try:
            # A unit of a user without a connection: the worker builds its parts, the unit fails fast.
            with pytest.raises(UnitFailed, match="LookupError"):
                await asyncio.wait_for(executor.reconcile(UserUnit(1, "bybit", None), AT), 60)
        finally:
            await executor.close()
        assert worker.poll() is None, log.read_text()
        master = key_forms(tmp_path / "var-keys" / "master.key")
        in_worker = memory_holds(worker.pid, master)
        assert in_worker == [False, False], "the live worker holds the master key"
        assert any(memory_holds(signer_child(worker.pid), master)), "the scan finds it in the signer"


async def test_scheduler_when_it_leads_then_its_memory_has_no_master_key(tmp_path: Path, pg_url: str) -> None:
    """`qari scheduler` (its hourly key re-checks are its signer's `check_stored`) leads the live
    engine with the master key only in its signer child. An empty database: it migrates before its
    signer opens the vault (which writes the key file of this fresh install)."""
    data_dir = tmp_path / "var"
    queue = f"qari-test-{uuid.uuid4().hex[:10]}"
    env = _env(data_dir, QARI_DATABASE_URL=pg_url, QARI_BROKER_URL=BROKER, QARI_TASK_QUEUE=queue)
    log = tmp_path / "scheduler.log"
    with role_process(env, log, ("scheduler",)) as scheduler:
        deadline = time.monotonic() + 60
        while "leading the scheduler" not in log.read_text():
            assert scheduler.poll() is None and time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.2)
        master = key_forms(tmp_path / "var-keys" / "master.key")
        in_scheduler = memory_holds(scheduler.pid, master)
        assert in_scheduler == [False, False], "the scheduler holds the master key"
        assert any(memory_holds(signer_child(scheduler.pid), master)), "the scan finds it in the signer"


def test_start_or_reach_when_a_signer_runs_at_qari_signer_socket_then_the_role_reaches_it(
    tmp_path: Path, pg_url: str
) -> None:
    """The other layout: one `qari signer` per machine, started on its own with QARI_SIGNER_TOKEN_FILE
    (it writes a 0600 token there), reached by the roles through QARI_SIGNER_SOCKET: no child started,
    a wrong token refused in one line, the signer left running, and gone (socket too) on SIGTERM."""
    from qari.cli.signer import start_or_reach
    from qari.config import ConfigError

    data_dir = asyncio.run(fresh_install(tmp_path, pg_url))
    socket, token = tmp_path / "run" / "qari-signer.sock", tmp_path / "run" / "signer.token"
    env = _env(
        data_dir, QARI_DATABASE_URL=pg_url, QARI_SIGNER_SOCKET=str(socket), QARI_SIGNER_TOKEN_FILE=str(token)
    )
    signer = subprocess.Popen([sys.executable, "-m", "qari", "signer"], env=env, stderr=subprocess.PIPE)
    try:
        settings = load_settings(
            data_dir=data_dir, database_url=pg_url, signer_socket=socket, signer_token_file=token
        )
        link, rest = start_or_reach(settings, role="worker")
        assert link.child is None and link.client.path == socket
        assert asyncio.run(link.client.call("ping")) == "pong"
        assert rest.master_key is None
        assert token.stat().st_mode & 0o077 == 0
        link.close()
        assert signer.poll() is None  # not the role's to stop
        wrong = tmp_path / "wrong.token"
        wrong.write_text("x" * 40)
        wrong.chmod(0o600)
        with pytest.raises(ConfigError, match="refused this role"):
            start_or_reach(settings.model_copy(update={"signer_token_file": wrong}))
        wrong.chmod(0o644)
        with pytest.raises(ConfigError, match="readable by others"):
            start_or_reach(settings.model_copy(update={"signer_token_file": wrong}))
    finally:
        signer.terminate()
        signer.wait(timeout=30)
    assert signer.returncode == 0, signer.stderr.read() if signer.stderr else b""
    assert not socket.exists()


def test_signer_child_when_a_service_manager_sigterms_the_group_then_it_signs_until_its_role_is_gone(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """systemd's SIGTERM reaches the role and its signer child at once: the child keeps answering while
    the role drains, and leaves when the role stops it (SIGINT, `SignerLink.close`)."""
    from qari.cli.signer import start_or_reach

    data_dir = asyncio.run(fresh_install(tmp_path, pg_url))
    for name, value in _env(data_dir, QARI_DATABASE_URL=pg_url).items():
        monkeypatch.setenv(name, value)
    link, _ = start_or_reach(load_settings(data_dir=data_dir, database_url=pg_url), role="worker")
    assert link.child is not None
    try:
        link.child.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert link.child.poll() is None
        assert asyncio.run(link.client.call("ping")) == "pong"  # units in flight still get signed
    finally:
        link.close()
    assert link.child.returncode == 0
    assert not link.client.path.exists()


async def test_signer_when_a_machines_workers_call_at_once_then_a_burst_of_1000_calls_is_answered(
    tmp_path: Path,
) -> None:
    """One connection per call: a reached signer serving several workers sees hundreds at once
    (asyncio's default listen backlog, 100, refused a burst of 500)."""
    from qari.adapters.signer.client import SignerClient
    from qari.adapters.vault import SecretVault
    from qari.signer.server import SignerServer

    token = "t" * 40
    server = SignerServer(
        token=token,
        vault=SecretVault(os.urandom(32)),
        sessions=None,
        endpoints=None,  # type: ignore[arg-type]
    )
    path = tmp_path / "burst.sock"
    await server.start(path)
    try:
        client = SignerClient(path, token)
        answers = await asyncio.gather(*(client.call("ping") for _ in range(1000)), return_exceptions=True)
    finally:
        await server.close()
    assert [a for a in answers if a != "pong"] == []
