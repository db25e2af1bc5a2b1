"""Master-key sources and the start-up check that the key fits the database.

A source yields the 32-byte key-encryption key. `EnvMasterKey` reads `QARI_MASTER_KEY`, `FileMasterKey`
a 0600 file kept outside the database's directory; a KMS or HashiCorp Vault backend implements the
same `MasterKeySource` protocol. A fresh install (no key anywhere, no secrets stored) generates the
key file once and says where it is; an existing database never gets a new key silently.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
import sys
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence.tables.accounts import VaultKey, VaultSecret
from qari.adapters.vault.aesgcm import KEY_BYTES, SecretVault, fingerprint
from qari.adapters.vault.repository import sealed_of
from qari.config import ConfigError, Settings
from qari.logging import get_logger

log = get_logger(__name__)


class VaultStartupError(ConfigError):
    """The master key is missing, malformed or does not fit the database; one line says what to do."""


class MasterKeySource(Protocol):
    def describe(self) -> str: ...

    def load(self) -> bytes | None:
        """The key, or None when this source holds none yet."""


def parse_key(text: str, *, where: str) -> bytes:
    """A key as written in env/file: url-safe or standard base64 of 32 bytes, or 64 hex digits."""
    text = text.strip()
    raw: bytes | None = None
    if len(text) == 2 * KEY_BYTES:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != KEY_BYTES:
        raise VaultStartupError(
            f"{where} is not a valid master key: expected 32 random bytes as base64 (generate one with: "
            "python -c 'import os,base64;print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"
        )
    return raw


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


class EnvMasterKey:
    def __init__(self, value: str, name: str = "QARI_MASTER_KEY") -> None:
        self._value = value
        self._name = name

    def describe(self) -> str:
        return self._name

    def load(self) -> bytes | None:
        return parse_key(self._value, where=self._name)


class FileMasterKey:
    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return f"key file {self.path}"

    def load(self) -> bytes | None:
        if not self.path.exists():
            return None
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            raise VaultStartupError(
                f"master key file {self.path} is readable by others (mode {mode:o}); "
                f"run: chmod 600 {self.path}"
            )
        return parse_key(self.path.read_text(), where=f"master key file {self.path}")

    def create(self) -> bytes:
        """Write a new random key with mode 0600 (the directory 0700); fails if the file exists."""
        key = os.urandom(KEY_BYTES)
        write_key_file(self.path, key)
        return key


def write_key_file(path: Path, key: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(encode_key(key) + "\n")


def default_key_file(settings: Settings) -> Path:
    """`<data_dir>-keys/master.key`: next to the data directory, never inside it."""
    data_dir = settings.data_dir
    return data_dir.parent / f"{data_dir.name}-keys" / "master.key"


def key_file_path(settings: Settings) -> Path:
    return settings.master_key_file or default_key_file(settings)


def master_key_source(settings: Settings) -> EnvMasterKey | FileMasterKey:
    if settings.master_key is not None and settings.master_key.get_secret_value():
        return EnvMasterKey(settings.master_key.get_secret_value())
    path = key_file_path(settings)
    _refuse_key_beside_database(settings, path)
    return FileMasterKey(path)


def _refuse_key_beside_database(settings: Settings, key_path: Path) -> None:
    url = settings.resolved_database_url
    if not url.startswith("sqlite"):
        return
    db_path = url.split("///", 1)[-1]
    if db_path and db_path != ":memory:" and key_path.resolve().parent == Path(db_path).resolve().parent:
        raise VaultStartupError(
            f"QARI_MASTER_KEY_FILE {key_path} is in the database's directory; "
            "keep the key apart from the database"
        )


async def open_vault(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> SecretVault:
    """The vault for this database, or `VaultStartupError` with one clear line.

    Generates a key file only on a database without secrets and without any key file/env key.
    """
    source = master_key_source(settings)
    async with sessions() as session, session.begin():
        stored = int((await session.execute(select(func.count()).select_from(VaultSecret))).scalar_one())
        key = source.load()
        if key is None:
            if stored:
                raise VaultStartupError(
                    f"master key missing: the database holds {stored} sealed secret(s); set QARI_MASTER_KEY "
                    f"or QARI_MASTER_KEY_FILE to the key they were sealed with ({source.describe()} absent)"
                )
            assert isinstance(source, FileMasterKey)
            key = source.create()
            print(
                f"qari: generated a new master key at {source.path} (mode 0600). Back it up and keep it "
                "apart from the database: without it stored API secrets cannot be decrypted.",
                file=sys.stderr,
            )
            log.warning("generated a new master key file", extra={"path": str(source.path)})
        return await _versioned_vault(session, key, stored, source)


async def _versioned_vault(
    session: AsyncSession, key: bytes, stored: int, source: EnvMasterKey | FileMasterKey
) -> SecretVault:
    where = source.describe()
    fp = fingerprint(key)
    known = (await session.execute(select(VaultKey).order_by(VaultKey.version))).scalars().all()
    match = next((k for k in known if k.fingerprint == fp), None)
    if match is None:
        if stored:
            raise VaultStartupError(
                f"wrong master key: {where} does not open the {stored} secret(s) in this database; "
                "set QARI_MASTER_KEY or QARI_MASTER_KEY_FILE to the key they were sealed with"
            )
        version = (known[-1].version + 1) if known else 1
        session.add(VaultKey(version=version, fingerprint=fp))
        await session.flush()
        return SecretVault(key, key_version=version, reload=source.load)
    vault = SecretVault(key, key_version=match.version, reload=source.load)
    other = (
        await session.execute(
            select(func.count()).select_from(VaultSecret).where(VaultSecret.key_version != match.version)
        )
    ).scalar_one()
    if other:
        raise VaultStartupError(
            f"old master key: {where} is version {match.version} but {other} secret(s) are wrapped by a "
            "newer key (after `qari vault rotate-master`, use the new key)"
        )
    sample = (await session.execute(select(VaultSecret).limit(1))).scalar_one_or_none()
    if sample is not None and not vault.can_unwrap(
        sealed_of(sample),
        user_id=sample.user_id,
        exchange=sample.exchange,
        key_id=sample.key_id,
        purpose=sample.purpose,
    ):
        raise VaultStartupError(f"wrong master key: {where} does not open the secrets in this database")
    return vault
