"""What the web process starts and stops around serving requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from qari.adapters.events.memory import LiveEventHub
from qari.adapters.events.postgres import PgLiveEvents
from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import engine_pool, make_engine, make_sessionmaker
from qari.adapters.vault.keys import open_vault
from qari.config import Settings
from qari.core.clocks import WallClock
from qari.engine.cycle import Timeouts
from qari.engine.kernel import start_web_engine
from qari.web.telegram import telegram_alerts


@asynccontextmanager
async def started(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    url = settings.resolved_database_url
    # Alembic's env runs its own event loop, so migrate from a worker thread.
    await asyncio.to_thread(migrate.upgrade, url)
    # The engine runs in this process: size the pool for its users in flight plus the web requests.
    units = Timeouts().max_concurrent_users if settings.engine_mode != "off" else 0
    # No "pre-ping" before each checkout: on PostgreSQL it cost three round trips per request (BEGIN, an
    # empty query, ROLLBACK), more than the request's own queries. A connection the server dropped
    # fails its request with a 503 (web/errors.py) and SQLAlchemy then renews the pool.
    engine = make_engine(url, **engine_pool(url, units), pool_pre_ping=False)
    app.state.db_engine = engine
    # Live events (routes/events.py): PostgreSQL carries every process's with NOTIFY, heard here;
    # on SQLite only this process writes, so its commits feed the hub directly.
    hub = LiveEventHub()
    listener = PgLiveEvents(url, hub) if engine.dialect.name == "postgresql" else None
    app.state.live_events = hub
    hub.observe(app.state.session_cache.observe)  # a session or account changed: drop its entries
    # Views of a user's data cached until the user's next event: only where every process's are heard.
    app.state.read_cache.enabled = listener is not None
    hub.observe(app.state.read_cache.observe)
    app.state.sessions = make_sessionmaker(engine, live=hub if listener is None else None)
    if not hasattr(app.state, "clock"):
        app.state.clock = WallClock()
    try:
        if listener is not None:
            await listener.start()
        # With `qari serve`, the signer child holds the key and does the vault's work; embedded (tests,
        # `create_app` alone): refuses a missing or wrong master key for a database holding secrets.
        signer = getattr(app.state, "signer", None)
        app.state.vault = signer if signer is not None else await open_vault(settings, app.state.sessions)
        async with telegram_alerts(app.state.sessions, settings) as telegram:
            app.state.telegram = telegram  # None when no bot token: alerts are off
            trading = await start_web_engine(
                settings,
                sessions=app.state.sessions,
                db_engine=engine,
                vault=app.state.vault,
                sandbox_venue=getattr(app.state, "sandbox_venue", None),
            )
            app.state.engine_status = trading.status
            if trading.engine is not None:
                app.state.market_clock = trading.engine.clock  # the sandbox market's in sandbox mode
            try:
                yield
            finally:
                await trading.stop()
    finally:
        if listener is not None:
            await listener.stop()
        await engine.dispose()
