"""Master-key rotation: every data key is re-wrapped under the new master key in one transaction.

The secrets themselves are never decrypted (only their data keys are unwrapped and re-wrapped), and
after the commit no record refers to the old key, so the old key is no longer needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence.tables.accounts import VaultKey, VaultSecret
from qari.adapters.vault.aesgcm import SecretVault, fingerprint
from qari.adapters.vault.keys import FileMasterKey, VaultStartupError, parse_key, write_key_file
from qari.adapters.vault.repository import sealed_of


@dataclass(frozen=True)
class RotationResult:
    rewrapped: int
    old_version: int
    new_version: int


async def rotate(
    sessions: async_sessionmaker[AsyncSession], current: SecretVault, new_key: bytes
) -> RotationResult:
    """Re-wrap every stored data key from `current` to `new_key` (version = newest + 1), atomically."""
    if fingerprint(new_key) == current.fingerprint:
        raise VaultStartupError("the new master key is the current one; give a different key")
    async with sessions() as session, session.begin():
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            await session.execute(text("LOCK TABLE vault_secrets IN EXCLUSIVE MODE"))
        newest = int(await session.scalar(select(func.max(VaultKey.version))) or 0)
        if fingerprint(new_key) in set((await session.execute(select(VaultKey.fingerprint))).scalars()):
            raise VaultStartupError("the new master key was used before; generate a fresh one")
        new = SecretVault(new_key, key_version=newest + 1)
        session.add(VaultKey(version=new.key_version, fingerprint=new.fingerprint))
        rows = (await session.execute(select(VaultSecret).order_by(VaultSecret.id))).scalars().all()
        for row in rows:
            sealed = current.rewrap(
                sealed_of(row),
                new,
                user_id=row.user_id,
                exchange=row.exchange,
                key_id=row.key_id,
                purpose=row.purpose,
            )
            row.wrapped_key, row.wrap_nonce, row.key_version = (
                sealed.wrapped_key,
                sealed.wrap_nonce,
                sealed.key_version,
            )
        await session.flush()
    return RotationResult(rewrapped=len(rows), old_version=current.key_version, new_version=new.key_version)


def pending_key_path(current: Path) -> Path:
    return current.with_name(current.name + ".new")


def new_key_from(
    path: Path | None, env_value: str | None, current_file: FileMasterKey | None
) -> tuple[bytes, Path | None]:
    """The new master key and, when it lives in a file, that file.

    Order: `--new-key-file` (read, or generated there when missing), `QARI_NEW_MASTER_KEY`, or a
    freshly generated `<current key file>.new` that replaces the current key file after the commit.
    """
    if path is not None:
        source = FileMasterKey(path)
        key = source.load()
        return (key if key is not None else source.create()), path
    if env_value:
        return parse_key(env_value, where="QARI_NEW_MASTER_KEY"), None
    if current_file is None:
        raise VaultStartupError(
            "the current master key comes from QARI_MASTER_KEY: give the new key with --new-key-file PATH "
            "or QARI_NEW_MASTER_KEY"
        )
    pending = pending_key_path(current_file.path)
    if pending.exists():  # an interrupted rotation: reuse its key
        key = FileMasterKey(pending).load()
        assert key is not None
        return key, pending
    key = os.urandom(32)
    write_key_file(pending, key)
    return key, pending
