"""`qari worker`: one task-engine worker process (any number, any machine; docs/task-engine.md)."""

from __future__ import annotations

import typer

from qari.logging import configure_logging


def worker(
    threads: int = typer.Option(32, min=1, max=1024, help="units of work in flight in this process"),
) -> None:
    """Run users' units of work from the broker named by QARI_BROKER_URL until SIGTERM (drains)."""
    from qari.engine.kernel import worker_parts
    from qari.engine.tasks import run_worker

    configure_logging()
    run_worker(worker_parts, threads)
