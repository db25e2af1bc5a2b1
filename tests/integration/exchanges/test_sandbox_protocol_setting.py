"""QARI_SANDBOX_PROTOCOL over real HTTP: the whole app under uvicorn with the sandbox mounted at
`{base_url}/sandbox/<protocol>`; the one-click connection mints a key for that protocol (an OKX key with
a passphrase) and QARI's key check reaches it through ccxt's class of that name; the exchange list says
which protocol the sandbox speaks."""

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

from qari.adapters.exchanges.capabilities import sandbox_capabilities
from qari.config import load_settings
from qari.engine.kernel import venue_execution_config

URL = "/api/v1/exchange/connections"
PROTOCOLS = ("bybit", "binance", "okx")


@pytest.fixture(params=PROTOCOLS)
def live_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    from qari.web.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    settings = load_settings(
        data_dir=tmp_path / "var",
        master_key_file=tmp_path / "k" / "master.key",
        engine_mode="off",
        port=port,
        sandbox_protocol=request.param,
    )
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.02)
    try:
        yield settings.base_url, request.param
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


async def test_one_click_sandbox_when_protocol_set_then_connected_over_that_protocol(
    live_app: tuple[str, str],
) -> None:
    base, protocol = live_app
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        headers = await register_and_login(client)
        listed = await client.get("/api/v1/exchange/exchanges", headers=headers)
        venues = {v["id"]: v for v in listed.json()}
        created = await client.post(f"{URL}/sandbox", headers=headers)
        assert created.status_code == 201, created.text
        verified = await client.post(f"{URL}/{created.json()['id']}/verify", headers=headers)
        # The mount is named after the protocol and answers in it (a public market-data path).
        ping = {"bybit": "/v5/market/time", "binance": "/api/v3/ping", "okx": "/api/v5/public/time"}[protocol]
        served = await client.get(f"/sandbox/{protocol}{ping}")

    assert venues["sandbox"]["protocol"] == protocol and venues["sandbox"]["live"] is False
    assert venues["sandbox"]["needs_passphrase"] is (protocol == "okx")
    assert created.json()["exchange"] == "sandbox" and created.json()["status"] == "connected"
    assert verified.status_code == 200 and verified.json()["status"] == "connected", verified.text
    assert served.status_code == 200, served.text


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sandbox_venue_facts_when_protocol_set_then_those_of_the_venue_it_speaks(protocol: str) -> None:
    caps = sandbox_capabilities(protocol)
    config = venue_execution_config(protocol)

    assert (caps.id, caps.ccxt_id, caps.live) == ("sandbox", protocol, False)
    assert config.client_id_rules("sandbox") == config.client_id_rules(protocol)
    assert config.spot_stop("sandbox") is config.spot_stop(protocol)
