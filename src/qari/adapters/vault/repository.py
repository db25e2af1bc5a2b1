"""Vault rows: store, load and erase sealed secrets. Callers own the transaction (no commit here)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.persistence.tables.accounts import VaultKey, VaultSecret
from qari.adapters.vault.aesgcm import DecryptionError, SealedSecret, SecretVault


class SecretNotFoundError(LookupError):
    """No secret with that id belongs to that user."""


def sealed_of(row: VaultSecret) -> SealedSecret:
    return SealedSecret(row.ciphertext, row.nonce, row.wrapped_key, row.wrap_nonce, row.key_version)


async def store_secret(
    session: AsyncSession,
    vault: SecretVault,
    *,
    user_id: int,
    exchange: str,
    key_id: str,
    purpose: str,
    plaintext: str,
) -> int:
    """Seal `plaintext` and insert it; returns the new row id (flushed, not committed)."""
    sealed = vault.seal(plaintext, user_id=user_id, exchange=exchange, key_id=key_id, purpose=purpose)
    row = await _insert(session, sealed, user_id=user_id, exchange=exchange, key_id=key_id, purpose=purpose)
    # Flushed first, then checked: a rotation committed meanwhile (its lock made this insert wait)
    # is visible now, and the row is re-sealed under the new key instead of the retired one.
    latest = await latest_key(session)
    if latest is not None and latest.version != vault.key_version:
        if not vault.reload(latest.version, expected_fingerprint=latest.fingerprint):
            raise DecryptionError(
                f"the master key was rotated to version {latest.version}; restart with the new master key"
            )
        sealed = vault.seal(plaintext, user_id=user_id, exchange=exchange, key_id=key_id, purpose=purpose)
        row.ciphertext, row.nonce, row.wrapped_key = sealed.ciphertext, sealed.nonce, sealed.wrapped_key
        row.wrap_nonce, row.key_version = sealed.wrap_nonce, sealed.key_version
        await session.flush()
    return row.id


async def store_sealed(
    session: AsyncSession, sealed: SealedSecret, *, user_id: int, exchange: str, key_id: str, purpose: str
) -> int:
    """Insert a secret the signer sealed (this process never saw the master key); returns the row id.
    Sealed under a key a rotation retired meanwhile: refused, the caller asks again."""
    row = await _insert(session, sealed, user_id=user_id, exchange=exchange, key_id=key_id, purpose=purpose)
    latest = await latest_key(session)
    if latest is not None and latest.version != sealed.key_version:
        raise DecryptionError(f"the master key was rotated to version {latest.version} meanwhile; try again")
    return row.id


async def latest_key(session: AsyncSession) -> VaultKey | None:
    return (
        await session.execute(select(VaultKey).order_by(VaultKey.version.desc()).limit(1))
    ).scalar_one_or_none()


async def _insert(
    session: AsyncSession, sealed: SealedSecret, *, user_id: int, exchange: str, key_id: str, purpose: str
) -> VaultSecret:
    row = VaultSecret(
        user_id=user_id,
        purpose=purpose,
        exchange=exchange,
        key_id=key_id,
        ciphertext=sealed.ciphertext,
        nonce=sealed.nonce,
        wrapped_key=sealed.wrapped_key,
        wrap_nonce=sealed.wrap_nonce,
        key_version=sealed.key_version,
    )
    session.add(row)
    await session.flush()
    return row


async def load_secret(session: AsyncSession, vault: SecretVault, secret_id: int, *, user_id: int) -> str:
    """Open the secret `secret_id` owned by `user_id`; `SecretNotFoundError` when it is not theirs."""
    row = await session.get(VaultSecret, secret_id)
    if row is None or row.user_id != user_id:
        raise SecretNotFoundError(f"no secret {secret_id} for user {user_id}")
    return vault.open(
        sealed_of(row), user_id=row.user_id, exchange=row.exchange, key_id=row.key_id, purpose=row.purpose
    )


async def erase_secret(session: AsyncSession, secret_id: int) -> None:
    """Delete the row (ciphertext included). Missing ids are ignored: erasing is idempotent."""
    row = await session.get(VaultSecret, secret_id)
    if row is not None:
        await session.delete(row)
        await session.flush()


async def count_secrets(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(VaultSecret))).scalar_one())


__all__ = [
    "DecryptionError",
    "SecretNotFoundError",
    "count_secrets",
    "erase_secret",
    "latest_key",
    "load_secret",
    "store_sealed",
    "store_secret",
]
