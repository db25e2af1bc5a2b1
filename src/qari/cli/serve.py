"""`qari serve`: web dashboard + API + engine + mounted sandbox, one process."""

from __future__ import annotations

import asyncio
import sys

import typer

from qari.config import ConfigError, Settings, get_settings
from qari.logging import configure_logging


async def preflight(settings: Settings) -> None:
    """Migrate and open the vault once before serving, so a bad master key is one clear line."""
    from qari.adapters.persistence import migrate
    from qari.adapters.persistence.db import make_engine, make_sessionmaker
    from qari.adapters.vault.keys import open_vault

    url = settings.resolved_database_url
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_engine(url)
    try:
        await open_vault(settings, make_sessionmaker(engine))
    finally:
        await engine.dispose()


def serve() -> None:
    """Serve the platform on 127.0.0.1:$QARI_PORT."""
    import uvicorn

    from qari.web.app import create_app

    try:
        settings = get_settings()
        configure_logging(settings.log_level, json_lines=settings.log_json)
        asyncio.run(preflight(settings))
    except ConfigError as e:
        typer.echo(f"qari: {e}", err=True)
        sys.exit(2)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        log_level=settings.log_level.lower(),
    )
