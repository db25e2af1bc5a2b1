"""The scaled-out roles (docs/task-engine.md), one job per process: `qari web` (API + dashboard, no
engine), `qari scheduler` (one leader emits the cycles), `qari worker` (any number, any machine).
`qari serve` stays the single-process default.

None of them loads the master key: each starts its own `qari signer` child, or reaches the one
already running on its machine at QARI_SIGNER_SOCKET (`signer.start_or_reach`, shared with serve).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING

import typer

from qari.config import ConfigError, Settings, get_settings
from qari.logging import configure_logging

if TYPE_CHECKING:
    from qari.cli.signer import SignerLink


def _broker_url() -> str:
    url = os.environ.get("QARI_BROKER_URL", "")
    if not url.startswith(("amqp://", "amqps://", "redis://", "rediss://")):
        typer.echo("qari: QARI_BROKER_URL must name the broker (amqp://… or redis://…)", err=True)
        sys.exit(2)
    return url


SCHEMA_WAIT = 120.0  # a worker started beside the scheduler waits this long for its migration


def _signer(role: str, extra_args: tuple[str, ...] = ()) -> tuple[SignerLink, Settings]:
    """This role's signer (started or reached) and its settings without the master key; exit 2 with
    one line when there is none. The signer opens the vault at once, so the schema must be there:
    the scheduler migrates first (as serve and web do); a worker never migrates, it waits."""
    from qari.adapters.persistence import migrate
    from qari.cli import signer as signer_cli
    from qari.cli.serve import preflight

    try:
        settings = get_settings()
        url = settings.resolved_database_url
        if role == "scheduler":
            asyncio.run(preflight(settings))
        elif not asyncio.run(migrate.wait_for_head(url, SCHEMA_WAIT)):
            raise ConfigError(
                f"the database schema is not migrated after {SCHEMA_WAIT:.0f} s: start `qari scheduler` "
                "or `qari web` (they migrate), or run `qari migrate`"
            )
        return signer_cli.start_or_reach(settings, role=role, extra_args=extra_args)
    except signer_cli.SignerExitedError:
        sys.exit(2)  # its reason is the one line the signer printed
    except ConfigError as e:
        typer.echo(f"qari: {e}", err=True)
        sys.exit(2)


def worker(
    threads: int = typer.Option(32, min=1, max=1024, help="units of work in flight in this process"),
) -> None:
    """Run users' units of work from the broker named by QARI_BROKER_URL until SIGTERM (drains).

    Their private exchange calls are made by this machine's signer, never with a key in this process."""
    _broker_url()
    from qari.adapters import probe
    from qari.adapters.probe import process_exited
    from qari.adapters.tasks import run_worker
    from qari.engine.roles import worker_parts, worker_spec

    spec = worker_spec()
    link = None
    if spec is None or spec.connections:  # a spec of plain sandbox keys needs no signer
        sandbox = ("--sandbox-url", spec.base_url) if spec is not None else ()
        link, settings = _signer("worker", sandbox)
        configure_logging(settings.log_level, json_lines=settings.log_json)
    else:
        configure_logging()
    keyring = None if link is None else link.client
    probe.serve("worker")
    try:
        run_worker(lambda n: worker_parts(n, keyring), threads)
    finally:
        process_exited()
        if link is not None:
            link.close()


def scheduler() -> None:
    """Lead the live engine's cycles (one leader; others wait) and send every unit to the workers."""
    broker = _broker_url()
    from qari.engine.roles import run_scheduler

    link, settings = _signer("scheduler")  # the hourly key re-checks are the signer's
    configure_logging(settings.log_level, json_lines=settings.log_json)
    from qari.adapters import probe
    from qari.adapters.probe import process_exited

    probe.serve("scheduler")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        task = asyncio.create_task(run_scheduler(settings, broker, stop, link.client))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():  # still waiting to lead, or stopping the engine: give it a moment
            done, _ = await asyncio.wait({task}, timeout=30)
            if not done:
                task.cancel()
        stopping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(main())
    finally:
        process_exited()
        link.close()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


DEFAULT_WEB_WORKERS = 2  # this machine's cores; more where there are more


def web(
    workers: int | None = typer.Option(
        None,
        "--workers",
        envvar="QARI_WEB_WORKERS",
        min=1,
        max=64,
        help=f"uvicorn worker processes (default {DEFAULT_WEB_WORKERS}; 1 while the sandbox is mounted)",
    ),
) -> None:
    """Serve the API and dashboard only: the engine runs in `qari scheduler` + `qari worker`. As in
    `qari serve`, the connect flow's key checks and sealing are the signer's (`start_or_reach`)."""
    os.environ["QARI_ENGINE_MODE"] = "off"
    get_settings.cache_clear()
    try:
        settings = get_settings()
    except ConfigError as e:
        typer.echo(f"qari: {e}", err=True)
        sys.exit(2)
    if settings.sandbox_mounted:
        # The mounted sandbox keeps its market and orders in process memory: one worker, or each
        # would be a different exchange.
        if workers is not None and workers > 1:
            typer.echo(
                "qari: the mounted sandbox lives in one process: set QARI_SANDBOX_ENABLED=false (run "
                "`qari sandbox` on its own) to serve with QARI_WEB_WORKERS > 1",
                err=True,
            )
            sys.exit(2)
        workers = 1
    from qari.adapters.probe import process_exited, role_state
    from qari.cli.serve import run_web_process

    role_state("web", "serving")  # its probes are the app's own /healthz and /metrics
    # uvicorn drains on SIGTERM (in-flight requests finish), then raises the signal again with the
    # handler it found: this one makes that a clean exit 0 (and the signer child is stopped by
    # serve's `finally`) instead of death by SIGTERM, which a supervisor would count as a failure.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        run_web_process(workers=workers or DEFAULT_WEB_WORKERS)
    finally:
        process_exited()
