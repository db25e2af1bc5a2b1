"""Fixtures for vault tests: settings on both backends and a helper to seed users and secrets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.config import Settings, load_settings


@pytest.fixture
def vault_settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        data_dir=tmp_path / "var",
        master_key_file=tmp_path / "keys" / "master.key",
        database_url=database_url,
        engine_mode="off",
    )


@pytest.fixture
async def vault_sessions(vault_settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = vault_settings.resolved_database_url
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_engine(url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()
