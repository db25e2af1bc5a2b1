"""A real uvicorn server (in this event loop) with the sandbox mounted at its own base URL."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from qari.config import load_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    from qari.web.app import create_app

    port = _free_port()
    settings = load_settings(
        port=port,
        data_dir=tmp_path / "var",
        master_key_file=tmp_path / "keys" / "master.key",
        engine_mode="off",
    )
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(30):
            await task
