"""Run Alembic migrations programmatically (used by `qari migrate`, start-up and tests)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to call on every start."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


async def wait_for_head(url: str, timeout: float) -> bool:
    """Wait until another process (`qari scheduler`, `qari web`) has brought the schema to head, for a
    process that must not migrate itself (`qari worker`: many start at once). False on timeout."""
    from qari.adapters.persistence.db import make_engine

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    db = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                async with db.connect() as conn:
                    current = await conn.scalar(text("SELECT version_num FROM alembic_version"))
                if current == head:
                    return True
            except DBAPIError:  # no database or no schema yet
                pass
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.5)
    finally:
        await db.dispose()
