from __future__ import annotations

import asyncio
import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.integration.vault.seed import add_users

from qari.adapters.persistence.db import transaction
from qari.adapters.persistence.tables.accounts import VaultSecret
from qari.adapters.vault.keys import VaultStartupError, open_vault
from qari.adapters.vault.repository import load_secret, store_secret
from qari.config import Settings, load_settings


def _new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


SRC = Path(__file__).resolve().parents[3] / "src"


async def _store(sessions: async_sessionmaker[AsyncSession], settings: Settings, plaintext: str) -> int:
    vault = await open_vault(settings, sessions)
    (user,) = await add_users(sessions, 1)
    async with transaction(sessions) as s:
        return await store_secret(
            s, vault, user_id=user, exchange="bybit", key_id="K", purpose="api_secret", plaintext=plaintext
        )


async def test_open_vault_when_fresh_install_then_0600_key_file_apart_from_db_printed_once(
    vault_settings: Settings,
    vault_sessions: async_sessionmaker[AsyncSession],
    capsys: pytest.CaptureFixture[str],
) -> None:
    await open_vault(vault_settings, vault_sessions)
    key_file = vault_settings.master_key_file
    assert key_file is not None and key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.parent != vault_settings.data_dir
    first = capsys.readouterr().err
    assert str(key_file) in first
    await open_vault(vault_settings, vault_sessions)
    assert "generated" not in capsys.readouterr().err


async def test_open_vault_when_wrong_master_key_then_one_clear_line(
    vault_settings: Settings, vault_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _store(vault_sessions, vault_settings, "the-stored-secret")
    wrong = vault_settings.model_copy(update={"master_key": SecretStr(_new_key())})
    with pytest.raises(VaultStartupError) as e:
        await open_vault(wrong, vault_sessions)
    assert str(e.value).startswith("wrong master key")
    assert "\n" not in str(e.value)


async def test_open_vault_when_key_missing_and_secrets_stored_then_refuses_without_generating(
    vault_settings: Settings, vault_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _store(vault_sessions, vault_settings, "the-stored-secret")
    assert vault_settings.master_key_file is not None
    vault_settings.master_key_file.unlink()
    with pytest.raises(VaultStartupError, match="master key missing"):
        await open_vault(vault_settings, vault_sessions)
    assert not vault_settings.master_key_file.exists()


async def test_open_vault_when_env_key_then_used_and_secrets_open(
    vault_settings: Settings, vault_sessions: async_sessionmaker[AsyncSession]
) -> None:
    key = _new_key()
    settings = vault_settings.model_copy(update={"master_key": SecretStr(key)})
    secret_id = await _store(vault_sessions, settings, "env-key-secret")
    vault = await open_vault(settings, vault_sessions)
    async with transaction(vault_sessions) as s:
        user = (await s.get_one(VaultSecret, secret_id)).user_id
        assert await load_secret(s, vault, secret_id, user_id=user) == "env-key-secret"


def test_open_vault_when_key_file_group_readable_then_refuses(tmp_path: Path) -> None:
    import asyncio

    key_file = tmp_path / "keys" / "master.key"
    key_file.parent.mkdir()
    key_file.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())
    key_file.chmod(0o644)
    settings = load_settings(data_dir=tmp_path / "var", master_key_file=key_file)
    from qari.adapters.persistence.db import make_engine, make_sessionmaker

    async def run() -> None:
        engine = make_engine(settings.resolved_database_url)
        from qari.adapters.persistence import migrate

        await asyncio.to_thread(migrate.upgrade, settings.resolved_database_url)
        try:
            await open_vault(settings, make_sessionmaker(engine))
        finally:
            await engine.dispose()

    with pytest.raises(VaultStartupError, match="chmod 600"):
        asyncio.run(run())


# Backend-independent (CLI / process behaviour): SQLite only; the backend-specific parts run on both above.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_serve_when_wrong_master_key_then_exit_nonzero_with_one_line_no_traceback(
    vault_settings: Settings, vault_sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await _store(vault_sessions, vault_settings, "the-stored-secret")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QARI_")} | {
        "PYTHONPATH": str(SRC),
        "QARI_DATA_DIR": str(vault_settings.data_dir),
        "QARI_DATABASE_URL": vault_settings.resolved_database_url,
        "QARI_MASTER_KEY": _new_key(),
        "QARI_ENGINE_MODE": "off",
        "QARI_PORT": "1",
    }
    serve = [sys.executable, "-m", "qari", "serve"]
    run = await asyncio.to_thread(
        subprocess.run, serve, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 2
    lines = [line for line in run.stderr.splitlines() if line.startswith("qari:")]
    assert len(lines) == 1 and "wrong master key" in lines[0]
    assert "Traceback" not in run.stderr
