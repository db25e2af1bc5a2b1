"""The default wiring, over real HTTP: the whole app under uvicorn, the sandbox mounted at
`{base_url}/sandbox/bybit`, and the one-click connection with no URL override anywhere."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from tests.helpers import register_and_login

from qari.config import load_settings

URL = "/api/v1/exchange/connections"


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[str]:
    from qari.web.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    settings = load_settings(
        data_dir=tmp_path / "var", master_key_file=tmp_path / "k" / "master.key", engine_mode="off", port=port
    )
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.02)
    try:
        yield settings.base_url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


async def test_one_click_sandbox_when_default_config_then_connected_and_verifiable(live_app: str) -> None:
    async with httpx.AsyncClient(base_url=live_app, timeout=30) as client:
        headers = await register_and_login(client)

        created = await client.post(f"{URL}/sandbox", headers=headers)
        assert created.status_code == 201, created.text
        verified = await client.post(f"{URL}/{created.json()['id']}/verify", headers=headers)

    assert created.json()["exchange"] == "sandbox" and created.json()["status"] == "connected"
    assert verified.status_code == 200 and verified.json()["status"] == "connected"
