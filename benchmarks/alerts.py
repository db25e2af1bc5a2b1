"""Alert outbox throughput against the local Telegram Bot API stand-in (SQLite file database).

Prints the cost of `emit_alert` inside a caller's transaction and how fast one and three workers drain
the outbox over real HTTP. Telegram itself allows about 30 messages per second per bot, so the worker
only needs to beat that comfortably.

    python benchmarks/alerts.py [--alerts 300]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import socket
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the stand-in lives with the tests

from tests.integration.alerts.support import BOT_TOKEN, TRADE, open_rows
from tests.integration.alerts.telegram_standin import TelegramStandIn

from qari.adapters.notify.outbox import OutboxPolicy, OutboxWorker
from qari.adapters.notify.telegram import TelegramClient
from qari.adapters.persistence import migrate
from qari.adapters.persistence.alerts import emit_alert
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.tables.accounts import User
from qari.adapters.persistence.tables.alerts import TelegramLink


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run(alerts: int, workers: int, standin: TelegramStandIn) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await asyncio.to_thread(migrate.upgrade, url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        now = dt.datetime.now(dt.UTC)
        async with sessions() as session, session.begin():
            session.add(User(id=1, email="b@example.com", password_hash="x", trial_ends_at=now))
        async with sessions() as session, session.begin():
            session.add(TelegramLink(user_id=1, chat_id=1, linked_at=now))
        start = time.perf_counter()
        for n in range(alerts):
            async with sessions() as session, session.begin():
                await emit_alert(session, user_id=1, kind="pt1", data={**TRADE, "price": str(n)})
        emit_ms = (time.perf_counter() - start) / alerts * 1000
        client = TelegramClient(SecretStr(BOT_TOKEN), standin.base_url)
        policy = OutboxPolicy(idle_poll=0.01)
        stop = asyncio.Event()
        start = time.perf_counter()
        tasks = [
            asyncio.create_task(OutboxWorker(sessions, client, policy=policy).run(stop))
            for _ in range(workers)
        ]
        while await open_rows(sessions):
            await asyncio.sleep(0.01)
        rate = alerts / (time.perf_counter() - start)
        stop.set()
        await asyncio.gather(*tasks)
        await client.close()
        await engine.dispose()
        return emit_ms, rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=300)
    args = parser.parse_args()
    standin = TelegramStandIn(BOT_TOKEN, free_port())
    standin.start()
    try:
        for workers in (1, 3):
            emit_ms, rate = asyncio.run(run(args.alerts, workers, standin))
            print(
                f"alerts={args.alerts} workers={workers}: emit_alert+commit {emit_ms:.2f} ms each, "
                f"delivery {rate:.0f} messages/s"
            )
        print(f"stand-in received {len(standin.state.sent)} messages (expected {2 * args.alerts})")
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
