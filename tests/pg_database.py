"""A throwaway PostgreSQL database: created on the server a URL names, dropped afterwards (tests and
benchmarks, so one run's rows never meet another's)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator


@contextlib.contextmanager
def fresh_database(server_url: str, prefix: str = "qari_test") -> Iterator[str]:
    """Yield the URL of a new, empty database on `server_url`'s server (connected to as admin)."""
    import asyncpg

    admin = server_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
