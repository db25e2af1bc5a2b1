"""Issue 16, isolated signer: the channel refuses callers without the token, and a stolen database
plus the web process, without the signer and its master key, can neither sign an order nor open a
secret. Real SQLite, a real Unix socket, a real `qari signer` child."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import stat
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient
from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker, transaction
from qari.adapters.persistence.tables.accounts import User
from qari.adapters.persistence.tables.exchange import ExchangeConnection
from qari.adapters.signer.client import SignerClient, SignerExchangeClient
from qari.adapters.signer.protocol import SignerRefusedError, SignerUnavailableError, read_frame, write_frame
from qari.adapters.vault.keys import VaultStartupError, open_vault
from qari.adapters.vault.repository import store_secret
from qari.cli import signer as signer_cli
from qari.config import Settings, load_settings
from qari.core.errors import ExchangeUnavailableError, OutcomeUnknownError
from qari.core.orders import OrderRequest, OrderType, Side
from qari.ports import UserUnit
from qari.services.engine_ports import ConnectionClients
from qari.services.exchange_keys import PURPOSE, Endpoints
from qari.signer.server import SignerServer

TOKEN = "t" * 43
SECRET = "the-victims-api-secret-0123456789"


def _settings(root: Path) -> Settings:
    return load_settings(
        data_dir=root / "var",
        database_url=f"sqlite+aiosqlite:///{root / 'qari.db'}",
        master_key_file=root / "keys" / "master.key",
        engine_mode="off",
    )


async def _install(settings: Settings) -> tuple[async_sessionmaker[AsyncSession], int, int]:
    """A victim's install: one user with a stored (sealed) exchange key and its connection."""
    await asyncio.to_thread(migrate.upgrade, settings.resolved_database_url)
    sessions = make_sessionmaker(make_engine(settings.resolved_database_url))
    vault = await open_vault(settings, sessions)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    async with transaction(sessions) as s:
        user = User(email="victim@example.com", password_hash="x", trial_ends_at=now)
        s.add(user)
        await s.flush()
        payload = json.dumps({"api_key": "victim-key-id", "secret": SECRET, "passphrase": None})
        secret_id = await store_secret(
            s, vault, user_id=user.id, exchange="sandbox", key_id="k1", purpose=PURPOSE, plaintext=payload
        )
        row = ExchangeConnection(
            user_id=user.id, exchange="sandbox", key_hint="y-id", secret_id=secret_id, status="connected"
        )
        s.add(row)
        await s.flush()
        return sessions, user.id, row.id


@pytest.fixture
async def signer_server(tmp_path: Path) -> AsyncIterator[tuple[SignerServer, Path, int, int]]:
    settings = _settings(tmp_path)
    sessions, user_id, connection_id = await _install(settings)
    vault = await open_vault(settings, sessions)
    server = SignerServer(token=TOKEN, vault=vault, sessions=sessions, endpoints=Endpoints())
    path = tmp_path / "var" / "signer.sock"
    await server.start(path)
    try:
        yield server, path, user_id, connection_id
    finally:
        await server.close()
        await sessions.kw["bind"].dispose()


async def test_signer_when_call_without_the_token_then_refused_and_hung_up(
    signer_server: tuple[SignerServer, Path, int, int],
) -> None:
    _, path, user_id, connection_id = signer_server
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # only this user may even connect
    assert await SignerClient(path, TOKEN).call("ping") == "pong"
    assert await SignerClient(path, TOKEN).call("api_key", user_id=user_id, connection_id=connection_id) == (
        "victim-key-id"
    )
    with pytest.raises(SignerRefusedError, match="token"):
        await SignerClient(path, "w" * 43).call("api_key", user_id=user_id, connection_id=connection_id)
    # no token at all, asking to sign an order: refused, and the connection is closed
    reader, writer = await asyncio.open_unix_connection(str(path))
    request = {"symbol": "BTC/USDT", "side": "buy", "type": "market", "qty_base": "1", "client_order_id": "x"}
    args = {
        "user_id": user_id,
        "connection_id": connection_id,
        "method": "create_order",
        "args": {"request": request},
    }
    await write_frame(writer, {"op": "exchange", "args": args})
    answer = await read_frame(reader)
    assert answer is not None and answer["ok"] is False and answer["error"] == "SignerRefusedError"
    assert await read_frame(reader) is None  # hung up
    writer.close()
    # with the token, a call outside the named private calls is refused too
    with pytest.raises(SignerRefusedError):
        await SignerClient(path, TOKEN).call(
            "exchange", user_id=user_id, connection_id=connection_id, method="withdraw"
        )
    with pytest.raises(SignerRefusedError):
        await SignerClient(path, TOKEN).call("open_secret", secret_id=1)


async def test_signer_when_database_stolen_and_web_runs_without_signer_then_nothing_signed_or_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = tmp_path / "victim"
    sessions, user_id, connection_id = await _install(_settings(victim))
    await sessions.kw["bind"].dispose()  # everything on disk, in the one file a thief copies
    thief = tmp_path / "thief"
    thief.mkdir()
    shutil.copy(victim / "qari.db", thief / "qari.db")  # the database, not the key kept apart from it
    stolen = _settings(thief)
    sessions = make_sessionmaker(make_engine(stolen.resolved_database_url))
    # the web process as `qari serve` runs it: its orders go through the signer, and there is none
    clients = ConnectionClients(sessions, SignerClient(stolen.data_dir / "signer.sock", TOKEN), Endpoints())
    async with clients.client(UserUnit(user_id, "sandbox", connection_id)) as client:
        order = OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET, Decimal("1"), "stolen-1")
        with pytest.raises(SignerUnavailableError) as refused:
            await client.create_order(order)
        assert isinstance(refused.value, ExchangeUnavailableError)  # the engine sees "not sent"
        with pytest.raises(SignerUnavailableError):
            await client.fetch_balances()
    # nor can the thief open a secret: the database alone has no key
    with pytest.raises(VaultStartupError, match="master key missing"):
        await open_vault(stolen, sessions)
    # and a signer of the thief's own refuses the stolen database (one line, no new key)
    for name, value in {
        "QARI_DATA_DIR": str(stolen.data_dir),
        "QARI_DATABASE_URL": stolen.resolved_database_url,
        "QARI_MASTER_KEY_FILE": str(thief / "keys" / "master.key"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("QARI_MASTER_KEY", raising=False)
    with pytest.raises(signer_cli.SignerExitedError):
        await asyncio.to_thread(signer_cli.spawn, stolen)
    assert not (thief / "keys" / "master.key").exists()


async def test_signer_when_connection_breaks_after_an_order_was_handed_over_then_outcome_unknown(
    tmp_path: Path,
) -> None:
    """A signer that dies mid-call may have placed the order: the engine must reconcile, not resend."""
    path = tmp_path / "dying.sock"

    async def take_and_die(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_frame(reader)
        writer.close()

    server = await asyncio.start_unix_server(take_and_die, path=str(path))
    try:
        public = CcxtExchangeClient("sandbox")
        client = SignerExchangeClient(SignerClient(path, TOKEN), public, user_id=1, connection_id=1)
        order = OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET, Decimal("1"), "handed-over-1")
        with pytest.raises(OutcomeUnknownError):
            await client.create_order(order)
        with pytest.raises(SignerUnavailableError):  # a read that broke: nothing happened, retry is fine
            await client.fetch_open_orders("BTC/USDT")
        await client.close()
    finally:
        server.close()
        await server.wait_closed()


def test_signer_cli_when_started_by_hand_without_the_token_pipe_then_exit_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from qari.cli import app

    monkeypatch.delenv("QARI_SIGNER_TOKEN_FD", raising=False)
    result = CliRunner().invoke(app, ["signer"])
    assert result.exit_code == 2 and "started by `qari serve`" in result.output
