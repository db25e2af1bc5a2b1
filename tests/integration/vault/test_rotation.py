from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.integration.vault.seed import add_users

from qari.adapters.persistence.db import transaction
from qari.adapters.persistence.tables.accounts import VaultSecret
from qari.adapters.vault import SecretVault
from qari.adapters.vault.keys import VaultStartupError, encode_key, open_vault, write_key_file
from qari.adapters.vault.repository import load_secret, store_secret
from qari.adapters.vault.rotation import rotate
from qari.config import Settings

SRC = Path(__file__).resolve().parents[3] / "src"


async def _seed(sessions: async_sessionmaker[AsyncSession], vault: SecretVault) -> dict[int, tuple[int, str]]:
    users = await add_users(sessions, 2)
    stored: dict[int, tuple[int, str]] = {}
    async with transaction(sessions) as s:
        for i, user in enumerate(users * 2):
            plaintext = f"secret-{i}-{user}-xyz"
            sid = await store_secret(
                s,
                vault,
                user_id=user,
                exchange=f"ex{i}",
                key_id=f"k{i}",
                purpose="api_secret",
                plaintext=plaintext,
            )
            stored[sid] = (user, plaintext)
    return stored


async def _all_open(
    sessions: async_sessionmaker[AsyncSession], vault: SecretVault, stored: dict[int, tuple[int, str]]
) -> None:
    async with transaction(sessions) as s:
        for sid, (user, plaintext) in stored.items():
            assert await load_secret(s, vault, sid, user_id=user) == plaintext


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "QARI_DATA_DIR": str(settings.data_dir),
        "QARI_DATABASE_URL": settings.resolved_database_url,
        "QARI_MASTER_KEY_FILE": str(settings.master_key_file),
    }
    env.pop("QARI_MASTER_KEY", None)
    command = [sys.executable, "-m", "qari", "vault", "rotate-master", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


async def test_rotate_master_cli_when_default_then_every_secret_opens_with_only_new_key(
    vault_settings: Settings, vault_sessions: async_sessionmaker[AsyncSession]
) -> None:
    old_vault = await open_vault(vault_settings, vault_sessions)
    stored = await _seed(vault_sessions, old_vault)
    key_file = vault_settings.master_key_file
    assert key_file is not None
    old_key_text = key_file.read_text().strip()

    result = await asyncio.to_thread(_cli, vault_settings)

    assert result.returncode == 0, result.stderr
    assert "re-wrapped 4 secret(s)" in result.stdout
    assert key_file.read_text().strip() != old_key_text
    assert not key_file.with_name("master.key.new").exists()
    new_vault = await open_vault(vault_settings, vault_sessions)
    assert new_vault.key_version == 2
    await _all_open(vault_sessions, new_vault, stored)
    async with transaction(vault_sessions) as s:
        assert set((await s.execute(select(VaultSecret.key_version))).scalars()) == {2}
    with pytest.raises(VaultStartupError, match="old master key"):
        await open_vault(
            vault_settings.model_copy(update={"master_key": SecretStr(old_key_text)}), vault_sessions
        )


# Backend-independent (CLI / process behaviour): SQLite only; the backend-specific parts run on both above.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_rotate_master_cli_when_new_key_file_given_then_says_how_to_switch(
    vault_settings: Settings, vault_sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    stored = await _seed(vault_sessions, await open_vault(vault_settings, vault_sessions))
    new_file = tmp_path / "new-keys" / "master.key"

    result = await asyncio.to_thread(_cli, vault_settings, "--new-key-file", str(new_file))

    assert result.returncode == 0, result.stderr
    assert f"QARI_MASTER_KEY_FILE={new_file}" in result.stdout
    switched = vault_settings.model_copy(update={"master_key_file": new_file})
    await _all_open(vault_sessions, await open_vault(switched, vault_sessions), stored)


async def test_rotate_when_server_running_then_its_vault_picks_up_new_key_for_open_and_store(
    vault_settings: Settings, vault_sessions: async_sessionmaker[AsyncSession]
) -> None:
    running = await open_vault(vault_settings, vault_sessions)
    stored = await _seed(vault_sessions, running)
    current = await open_vault(vault_settings, vault_sessions)
    new_key = os.urandom(32)

    await rotate(vault_sessions, current, new_key)
    key_file = vault_settings.master_key_file
    assert key_file is not None
    staged = key_file.with_name("staged.key")
    write_key_file(staged, new_key)
    os.replace(staged, key_file)

    await _all_open(vault_sessions, running, stored)
    assert running.key_version == 2
    stale = SecretVault(
        bytes(32), key_version=1
    )  # a vault that cannot reload: refuses to seal under a retired key
    (user,) = await add_users(vault_sessions, 1)
    with pytest.raises(Exception, match="rotated"):
        async with transaction(vault_sessions) as s:
            await store_secret(
                s, stale, user_id=user, exchange="e", key_id="k", purpose="p", plaintext="nope-nope"
            )
    assert encode_key(new_key) == key_file.read_text().strip()
