"""`qari serve`: web dashboard + API + engine + mounted sandbox, one process."""

from __future__ import annotations

import sys

import typer

from qari.config import ConfigError, get_settings


def serve() -> None:
    """Serve the platform on 127.0.0.1:$QARI_PORT."""
    import uvicorn

    from qari.web.app import create_app

    try:
        settings = get_settings()
    except ConfigError as e:
        typer.echo(f"qari: {e}", err=True)
        sys.exit(2)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
