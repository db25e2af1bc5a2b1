"""The leak test: a recognisable secret, DEBUG logging, and a search for it everywhere it could leak."""

from __future__ import annotations

import io
import logging
import secrets
from pathlib import Path

import httpx

from qari.adapters.persistence.db import transaction
from qari.adapters.vault.repository import load_secret, store_secret
from qari.config import load_settings
from qari.logging import KeyValueFormatter, configure_logging


async def test_secret_when_stored_used_and_logged_at_debug_then_absent_from_logs_responses_and_db_bytes(
    tmp_path: Path,
) -> None:
    from qari.web.app import create_app

    canary = "QARI-CANARY-" + secrets.token_hex(12)
    password = "Canary-Pass-W0rd-" + secrets.token_hex(4)
    settings = load_settings(
        data_dir=tmp_path / "var",
        master_key_file=tmp_path / "keys" / "master.key",
        engine_mode="off",
        log_level="DEBUG",
    )
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging("DEBUG")
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(KeyValueFormatter())
    capture.setLevel(logging.DEBUG)
    root.addHandler(capture)
    responses: list[httpx.Response] = []
    try:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                creds = {"email": "leak@example.com", "password": password}
                responses.append(await client.post("/api/v1/auth/register", json=creds))
                responses.append(
                    await client.post("/api/v1/auth/login", json={**creds, "password": "Wrong-" + password})
                )
                login = await client.post("/api/v1/auth/login", json=creds)
                responses.append(login)
                assert responses[0].status_code == 202, responses[0].text
                me = await client.get(
                    "/api/v1/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
                )
                user_id = me.json()["id"]
                # What the connect flow does with a pasted API secret: seal, store, later open for signing.
                async with transaction(app.state.sessions) as session:
                    secret_id = await store_secret(
                        session,
                        app.state.vault,
                        user_id=user_id,
                        exchange="bybit",
                        key_id="AKIDLEAKTEST",
                        purpose="api_secret",
                        plaintext=canary,
                    )
                async with transaction(app.state.sessions) as session:
                    opened = await load_secret(session, app.state.vault, secret_id, user_id=user_id)
                assert opened == canary
                log = logging.getLogger("ccxt.base.exchange")
                log.debug("signing with %s", opened)
                log.debug(f'bybit {{"retCode":10003,"apiSecret":"{opened}"}}')
                try:
                    raise RuntimeError(f"POST https://api.bybit.com/v5/order body=secret={opened}")
                except RuntimeError:
                    logging.getLogger("qari.engine").exception("order failed")
                headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
                for method, path in [
                    ("GET", "/api/v1/me"),
                    ("GET", "/api/v1/admin/users"),
                    ("GET", "/api/v1/admin/audit"),
                    ("GET", "/openapi.json"),
                    ("GET", "/healthz"),
                ]:
                    responses.append(await client.request(method, path, headers=headers))
                responses.append(
                    await client.post(
                        "/api/v1/auth/password",
                        headers=headers,
                        json={"current_password": canary, "new_password": canary},
                    )
                )
                responses.append(
                    await client.post("/api/v1/auth/register", json={"email": canary, "password": canary})
                )
    finally:
        root.removeHandler(capture)
        for handler in [h for h in root.handlers if h not in saved[0]]:
            root.removeHandler(handler)
        root.setLevel(saved[1])

    logs = stream.getvalue()
    db_files = list((tmp_path / "var").glob("qari.db*"))
    assert db_files and sum(f.stat().st_size for f in db_files) > 10_000
    assert "signing with ***" in logs and "order failed" in logs and "Traceback" in logs
    for value in (canary, password):
        assert value not in logs
        for response in responses:
            assert value not in response.text
            assert value not in str(response.headers)
        for db_file in db_files:
            assert value.encode() not in db_file.read_bytes(), db_file.name
