"""Live events across processes through a real PostgreSQL (issue 19 item 7): the web serves the stream,
another OS process (as a `qari worker` does) journals through `SqlTradingStore` on the same database,
and its commit reaches that user's stream by NOTIFY/LISTEN — not another user's. When the web's
listening connection is killed, it reconnects, tells the streams to resync, and hears again."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap

import asyncpg
import httpx
from tests.helpers import register_and_login

from qari.adapters.events.postgres import asyncpg_dsn

from .conftest import Served
from .test_event_stream import STREAM, frames, next_named, nothing_within, user_id

WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from qari.adapters.persistence.db import make_engine, make_sessionmaker
    from qari.adapters.persistence.repositories.trading import SqlTradingStore
    from tests.integration.dashboard.test_event_stream import a_position, an_entry

    async def main(url: str, user_id: int) -> None:
        engine = make_engine(url)
        try:
            store = SqlTradingStore(make_sessionmaker(engine))  # no in-process sink: NOTIFY only
            position = await store.add_position(a_position(user_id))
            order = await store.add_order(an_entry(position))
            print(position.id, order.id)
        finally:
            await engine.dispose()

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


async def _journal_in_another_process(database_url: str, user: int) -> tuple[int, int]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*sys.path])}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, database_url, str(user), env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await child.communicate()
    assert child.returncode == 0
    position_id, order_id = out.split()
    assert child.pid != os.getpid()
    return int(position_id), int(order_id)


async def test_stream_when_another_process_journals_an_order_on_postgres_then_its_user_hears_it(
    served_pg: Served,
) -> None:
    database_url = served_pg.app.state.settings.resolved_database_url
    async with httpx.AsyncClient(base_url=served_pg.url, timeout=10) as client:
        alice = await register_and_login(client)
        bob = await register_and_login(client)
        alice_id = await user_id(client, alice)
        async with (
            client.stream("GET", STREAM, headers=alice) as alice_stream,
            client.stream("GET", STREAM, headers=bob) as bob_stream,
        ):
            alice_events, bob_events = frames(alice_stream), frames(bob_stream)
            async with asyncio.timeout(10):
                await next_named(alice_events, "ready")
                await next_named(bob_events, "ready")
            position_id, order_id = await _journal_in_another_process(database_url, alice_id)
            async with asyncio.timeout(5):
                seen = {(await next_named(alice_events, "change"))["type"] for _ in range(2)}
            assert seen == {"position", "order"}
            assert await nothing_within(bob_events, 1.0) == []
            listed = (await client.get("/api/v1/positions", headers=alice)).json()
            assert position_id in [p["id"] for p in listed["positions"]]
            assert order_id > 0


async def test_stream_when_the_listening_connection_dies_then_resync_and_events_flow_again(
    served_pg: Served,
) -> None:
    database_url = served_pg.app.state.settings.resolved_database_url
    async with httpx.AsyncClient(base_url=served_pg.url, timeout=10) as client:
        alice = await register_and_login(client)
        async with client.stream("GET", STREAM, headers=alice) as stream:
            events = frames(stream)
            async with asyncio.timeout(10):
                await next_named(events, "ready")
            admin = await asyncpg.connect(asyncpg_dsn(database_url))
            try:
                killed = await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query ILIKE 'LISTEN%'"
                )
            finally:
                await admin.close()
            assert killed == 1
            async with asyncio.timeout(10):
                resync = await next_named(events, "change")
            assert resync["type"] == "resync"
            assert "positions" in resync["resources"]  # type: ignore[operator]
            await client.put("/api/v1/settings/risk", json={"cooldown_hours": 30}, headers=alice)
            async with asyncio.timeout(5):
                assert (await next_named(events, "change"))["type"] == "risk_settings"
