"""GET /positions from the per-process read cache (web/read_cache.py): on PostgreSQL a user's list is
read once and kept until that user's next live event, which any process's write sends; on SQLite
(events of other processes unheard) it is read on every request."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, update
from tests.helpers import register_and_login

from qari.adapters.persistence.db import make_engine, make_sessionmaker, transaction
from qari.adapters.persistence.tables.trading import PositionRow
from qari.config import Settings, load_settings
from qari.ports import LiveEvent
from qari.web.read_cache import UserReadCache


def position_reads(app: FastAPI) -> list[str]:
    seen: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM positions" in statement:
            seen.append(statement)

    event.listen(app.state.db_engine.sync_engine, "before_cursor_execute", on_execute)
    return seen


def a_position(user_id: int, symbol: str) -> PositionRow:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    names = (
        "entry_price structural_stop stop_price pt1 pt2 leg1_qty leg2_qty planned_r_quote fee_rate "
        "bought_qty sold_qty fee_base fees_quote cost_quote proceeds_quote"
    )
    money = {name: Decimal(1) for name in names.split()}
    return PositionRow(
        user_id=user_id,
        exchange_id="sandbox",
        symbol=symbol,
        base=symbol.split("/")[0],
        state="open",
        leg2_state="reserved",
        leg1_expires_at=at,
        leg2_expires_at=at,
        opened_at=at,
        updated_at=at,
        **money,
    )


async def positions(client: httpx.AsyncClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/positions", headers=auth)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()["positions"]
    return listed


@pytest.mark.postgres
async def test_positions_when_changed_by_another_process_then_cached_list_is_dropped(
    pg_url: str, tmp_path: Path
) -> None:
    from qari.web.app import create_app

    settings = load_settings(
        data_dir=tmp_path / "var",
        master_key_file=tmp_path / "keys" / "master.key",
        engine_mode="off",
        database_url=pg_url,
    )
    app = create_app(settings)
    app.state.read_cache = UserReadCache(enabled=False, ttl=600)  # events, not the TTL, must drop it
    elsewhere = make_engine(pg_url)  # another process's writes (the engine's workers)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                auth = await register_and_login(client)
                user_id = (await client.get("/api/v1/me", headers=auth)).json()["id"]
                async with transaction(make_sessionmaker(elsewhere)) as session:
                    session.add(a_position(user_id, "SOL/USDT"))
                await asyncio.sleep(0.3)  # that insert's own event arrives
                reads = position_reads(app)
                for _ in range(5):
                    listed = await positions(client, auth)
                    assert [p["symbol"] for p in listed] == ["SOL/USDT"]
                assert len(reads) == 1  # read once, then kept

                async with transaction(make_sessionmaker(elsewhere)) as session:
                    await session.execute(
                        update(PositionRow)
                        .where(PositionRow.user_id == user_id)
                        .values(stop_price=Decimal(2))
                    )
                    session.add(a_position(user_id, "ETH/USDT"))  # ORM write: notes its own event
                loop = asyncio.get_running_loop()
                changed = loop.time()
                while (
                    len(listed := (await client.get("/api/v1/positions", headers=auth)).json()["positions"])
                    < 2
                ):
                    assert loop.time() - changed < 5, "the cached list outlived the other process's write"
                    await asyncio.sleep(0.02)
                assert {p["symbol"] for p in listed} == {"SOL/USDT", "ETH/USDT"}
                assert {p["stop_price"] for p in listed} == {"2", "1"}
    finally:
        await elsewhere.dispose()


async def test_positions_on_sqlite_then_read_on_every_request(settings: Settings) -> None:
    from qari.web.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            auth = await register_and_login(client)
            reads = position_reads(app)
            for _ in range(3):
                assert (await client.get("/api/v1/positions", headers=auth)).status_code == 200
    assert len(reads) == 3 and app.state.read_cache.enabled is False


def test_read_when_an_event_of_the_user_came_during_it_then_not_kept() -> None:
    cache = UserReadCache(enabled=True, ttl=600)
    mark = cache.mark()  # a read starts
    cache.observe(LiveEvent(7, "position", {"position_id": 1}))  # a write commits meanwhile
    cache.put(7, "positions", ["stale"], mark)
    assert cache.get(7, "positions") is None
    cache.put(8, "positions", ["other user"], mark)  # another user's read is unaffected
    cache.put(7, "positions", ["fresh"], cache.mark())
    assert cache.get(7, "positions") == ["fresh"] and cache.get(8, "positions") == ["other user"]
    cache.observe(LiveEvent(7, "order"))
    assert cache.get(7, "positions") is None and cache.get(8, "positions") is not None
    cache.observe(None)  # events may have been missed
    assert cache.get(8, "positions") is None


async def test_positions_when_a_burst_misses_at_once_then_one_read(settings: Settings) -> None:
    """A dropped list met by a burst of one user's requests (web/single_flight.py): one read, the
    others take its entry."""
    from qari.web.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.read_cache = UserReadCache(enabled=True, ttl=600)  # as on PostgreSQL
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            auth = await register_and_login(client)
            reads = position_reads(app)
            burst = [client.get("/api/v1/positions", headers=auth) for _ in range(20)]
            responses = await asyncio.gather(*burst)
    assert [r.status_code for r in responses] == [200] * 20
    assert len(reads) == 1
