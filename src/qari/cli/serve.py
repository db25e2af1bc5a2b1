"""`qari serve`: web dashboard + API + engine + mounted sandbox, one process."""

from __future__ import annotations

import asyncio
import logging
import sys

import typer

from qari.config import ConfigError, Settings, get_settings
from qari.logging import configure_logging


async def preflight(settings: Settings) -> None:
    """Migrate once before serving (the signer then opens the vault: a bad master key is one line)."""
    from qari.adapters.persistence import migrate

    await asyncio.to_thread(migrate.upgrade, settings.resolved_database_url)


def serve() -> None:
    """Serve the dashboard, API, engine and sandbox at http://$QARI_HOST:$QARI_PORT (127.0.0.1:8000).

    The master key stays in the `qari signer` child started here (or the one at QARI_SIGNER_SOCKET):
    this process never loads it."""
    run_web_process(workers=1)


def run_web_process(*, workers: int) -> None:
    """`qari serve` (one process) and `qari web` (`workers` uvicorn worker processes sharing one socket,
    each building its app with `qari.cli.web_workers:worker_app`; the engine must be off then)."""
    import uvicorn

    from qari.cli import signer as signer_cli
    from qari.web.app import create_app

    try:
        settings = get_settings()
        configure_logging(settings.log_level, json_lines=settings.log_json)
        asyncio.run(preflight(settings))
        # The key is the signer's: this process drops its copy of the setting (and the environment entry).
        signer, settings = signer_cli.start_or_reach(settings)
    except signer_cli.SignerExitedError:
        sys.exit(2)  # its reason is the one line the signer printed
    except ConfigError as e:
        typer.echo(f"qari: {e}", err=True)
        sys.exit(2)
    debug = settings.log_level.upper() == "DEBUG"
    quiet_http_logs(debug)
    typer.echo(welcome(settings.base_url))
    try:
        if workers == 1:
            app = create_app(settings)
            app.state.signer = signer.client
            uvicorn.run(
                app,
                host=settings.host,
                port=settings.port,
                log_config=None,
                log_level=settings.log_level.lower(),
                access_log=debug,
            )
        else:
            from qari.cli import web_workers

            web_workers.run(settings, signer.client, workers=workers, access_log=debug)
    finally:  # not reached when uvicorn re-raises SIGTERM: the signer then sees its parent gone and exits
        signer.close()


def welcome(url: str) -> str:
    """What a newcomer needs from the console: where to go and who the operator is."""
    return (
        f"QARI: open {url} in a browser.\n"
        "  The first account registered there becomes the operator (the admin of this install);\n"
        "  accounts registered after it are ordinary users."
    )


def quiet_http_logs(debug: bool) -> None:
    """Every HTTP request (uvicorn's access log, httpx/httpcore client calls to exchanges and the mounted
    sandbox) at INFO would bury what matters; they are logged only when debugging."""
    level = logging.DEBUG if debug else logging.WARNING
    for name in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(level)
