"""The scaled-out roles (docs/task-engine.md), one job per process: `qari web` (API + dashboard, no
engine), `qari scheduler` (one leader emits the cycles), `qari worker` (any number, any machine).
`qari serve` stays the single-process default."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

import typer

from qari.config import ConfigError, get_settings
from qari.logging import configure_logging


def _broker_url() -> str:
    url = os.environ.get("QARI_BROKER_URL", "")
    if not url.startswith(("amqp://", "amqps://", "redis://", "rediss://")):
        typer.echo("qari: QARI_BROKER_URL must name the broker (amqp://… or redis://…)", err=True)
        sys.exit(2)
    return url


def worker(
    threads: int = typer.Option(32, min=1, max=1024, help="units of work in flight in this process"),
) -> None:
    """Run users' units of work from the broker named by QARI_BROKER_URL until SIGTERM (drains)."""
    _broker_url()
    from qari.adapters.tasks import run_worker
    from qari.engine.kernel import worker_parts

    configure_logging()
    run_worker(worker_parts, threads)


def scheduler() -> None:
    """Lead the live engine's cycles (one leader; others wait) and send every unit to the workers."""
    broker = _broker_url()
    from qari.engine.kernel import run_scheduler

    try:
        settings = get_settings()
    except ConfigError as e:
        typer.echo(f"qari: {e}", err=True)
        sys.exit(2)
    configure_logging(settings.log_level, json_lines=settings.log_json)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        task = asyncio.create_task(run_scheduler(settings, broker, stop))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():  # still waiting to lead, or stopping the engine: give it a moment
            done, _ = await asyncio.wait({task}, timeout=30)
            if not done:
                task.cancel()
        stopping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())


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
    """Serve the API and dashboard only: the engine runs in `qari scheduler` + `qari worker`."""
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
    from qari.cli.serve import run_web_process

    run_web_process(workers=workers or DEFAULT_WEB_WORKERS)
