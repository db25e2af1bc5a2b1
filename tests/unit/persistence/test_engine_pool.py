"""PostgreSQL pools outgrow the engine's users in flight (each holds a connection for its entry locks)."""

from __future__ import annotations

from qari.adapters.persistence.db import engine_pool, make_engine
from qari.engine.cycle import Timeouts

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def test_engine_pool_when_postgres_then_more_connections_than_units_in_flight() -> None:
    units = Timeouts().max_concurrent_users
    engine = make_engine(PG, **engine_pool(PG, units))
    try:
        assert engine.pool.size() > units  # type: ignore[attr-defined]
    finally:
        engine.sync_engine.dispose()


def test_engine_pool_when_sqlite_or_no_engine_then_defaults() -> None:
    assert engine_pool("sqlite+aiosqlite:///x.db", 64) == {}
    assert engine_pool(PG, 0) == {}
