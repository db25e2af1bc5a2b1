from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import update

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker, transaction
from qari.adapters.persistence.tables.accounts import User, VaultSecret
from qari.adapters.vault import DecryptionError, SecretVault
from qari.adapters.vault.repository import SecretNotFoundError, erase_secret, load_secret, store_secret


async def _users(sessions, n: int) -> list[int]:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    async with transaction(sessions) as s:
        users = [User(email=f"u{i}@example.com", password_hash="x", trial_ends_at=now) for i in range(n)]
        s.add_all(users)
        await s.flush()
        return [u.id for u in users]


async def test_store_load_erase_when_both_backends_then_round_trip_and_scoped(database_url: str) -> None:
    import asyncio

    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    vault = SecretVault(os.urandom(32))
    try:
        alice, bob = await _users(sessions, 2)
        async with transaction(sessions) as s:
            sid = await store_secret(
                s,
                vault,
                user_id=alice,
                exchange="bybit",
                key_id="K1",
                purpose="api_secret",
                plaintext="alice-secret",
            )
            other = await store_secret(
                s,
                vault,
                user_id=bob,
                exchange="bybit",
                key_id="K1",
                purpose="api_secret",
                plaintext="bob-secret",
            )
        async with transaction(sessions) as s:
            assert await load_secret(s, vault, sid, user_id=alice) == "alice-secret"
            with pytest.raises(SecretNotFoundError):
                await load_secret(s, vault, sid, user_id=bob)
        # Ciphertext moved into Bob's row (a database-level attack) does not decrypt there.
        async with transaction(sessions) as s:
            row = await s.get(VaultSecret, sid)
            assert row is not None
            await s.execute(
                update(VaultSecret)
                .where(VaultSecret.id == other)
                .values(
                    ciphertext=row.ciphertext,
                    nonce=row.nonce,
                    wrapped_key=row.wrapped_key,
                    wrap_nonce=row.wrap_nonce,
                )
            )
        async with transaction(sessions) as s:
            with pytest.raises(DecryptionError):
                await load_secret(s, vault, other, user_id=bob)
        async with transaction(sessions) as s:
            await erase_secret(s, sid)
        async with transaction(sessions) as s:
            assert await s.get(VaultSecret, sid) is None
            await erase_secret(s, sid)  # idempotent
    finally:
        await engine.dispose()
