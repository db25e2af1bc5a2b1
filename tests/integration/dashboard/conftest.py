"""A real uvicorn server (in this event loop) with the sandbox mounted at its own base URL."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from qari.config import Settings, load_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Served:
    url: str
    app: FastAPI


async def serve(settings: Settings) -> AsyncIterator[Served]:
    from qari.web.app import create_app

    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            await asyncio.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{settings.port}", app)
    finally:
        server.should_exit = True
        async with asyncio.timeout(30):
            await task


def dashboard_settings(tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(
        port=free_port(),
        data_dir=tmp_path / "var",
        master_key_file=tmp_path / "keys" / "master.key",
        engine_mode="off",
        **overrides,
    )


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    """The app (its `state` holds the sessions the engine and services write through) and its URL."""
    async for running in serve(dashboard_settings(tmp_path)):
        yield running


@pytest.fixture
async def base_url(served: Served) -> str:
    return served.url


@pytest.fixture
async def served_pg(tmp_path: Path, pg_url: str) -> AsyncIterator[Served]:
    """`served` on a fresh PostgreSQL database (live events arrive by LISTEN/NOTIFY)."""
    async for running in serve(dashboard_settings(tmp_path, database_url=pg_url)):
        yield running
