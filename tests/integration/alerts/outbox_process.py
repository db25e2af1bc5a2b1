"""One outbox worker in its own process, run until killed: the process the restart tests kill mid-send.

Usage: python outbox_process.py <database_url> <api_base> <lease_seconds>; token in QARI_TELEGRAM_BOT_TOKEN.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys

from pydantic import SecretStr

from qari.adapters.notify.outbox import OutboxPolicy, OutboxWorker
from qari.adapters.notify.telegram import TelegramClient
from qari.adapters.persistence.db import make_engine, make_sessionmaker


async def main(database_url: str, api_base: str, lease: float) -> None:
    engine = make_engine(database_url)
    client = TelegramClient(SecretStr(os.environ["QARI_TELEGRAM_BOT_TOKEN"]), api_base, timeout=lease * 0.8)
    policy = OutboxPolicy(lease=dt.timedelta(seconds=lease), backoff_base=0.05, idle_poll=0.02)
    worker = OutboxWorker(make_sessionmaker(engine), client, policy=policy)
    print("ready", flush=True)
    await worker.run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
