"""Several web processes with Telegram on: one of them reads getUpdates (Telegram refuses a second
reader of one bot), and another takes over when it stops. Each runtime here stands for one `qari web`
worker process: its own database engine and its own lock (a PostgreSQL connection or an open file)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from tests.integration.alerts.support import BOT_TOKEN, FAST, wait_until
from tests.integration.alerts.telegram_standin import TelegramStandIn

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.config import load_settings
from qari.web.telegram import HELLO, TelegramRuntime, telegram_alerts

CHAT = 9300


@pytest.fixture(params=["sqlite", "postgres"])
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'qari.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def counting(runtime: TelegramRuntime, polls: list[int], index: int) -> None:
    """Count this runtime's getUpdates calls (set before its poller task first runs)."""
    original: Callable[..., Awaitable[int]] = runtime.poller.poll_once

    async def poll_once(timeout: int | None = None) -> int:
        polls[index] += 1
        return await original(timeout)

    runtime.poller.poll_once = poll_once  # type: ignore[method-assign]


async def test_link_poller_when_three_web_processes_then_one_polls_and_another_takes_over(
    shared_db: str, tmp_path: Path, standin: TelegramStandIn
) -> None:
    await asyncio.to_thread(migrate.upgrade, shared_db)
    settings = load_settings(
        data_dir=tmp_path / "var",
        database_url=shared_db,
        telegram_bot_token=BOT_TOKEN,
        telegram_api_base=standin.base_url,
    )
    engines = [make_engine(shared_db) for _ in range(3)]
    stacks = [contextlib.AsyncExitStack() for _ in engines]
    polls = [0, 0, 0]
    try:
        for i, (engine, stack) in enumerate(zip(engines, stacks, strict=True)):
            runtime = await stack.enter_async_context(
                telegram_alerts(
                    make_sessionmaker(engine), settings, policy=FAST, poll_timeout=1, leader_retry=0.2
                )
            )
            assert runtime is not None
            counting(runtime, polls, i)
        await wait_until(lambda: sum(polls) >= 3)
        await asyncio.sleep(0.5)  # the standbys have tried the lock a few times meanwhile

        assert standin.state.conflicts == 0  # never two readers
        (leader,) = [i for i, n in enumerate(polls) if n]

        await stacks[leader].aclose()  # that worker stops: its lock is released
        before = list(polls)
        await wait_until(lambda: any(polls[i] > before[i] for i in range(3) if i != leader))
        standin.user_sends(CHAT, "/start")
        await wait_until(lambda: HELLO in standin.sent_to(CHAT))  # still answered, by the new leader
        assert polls[leader] == before[leader]
    finally:
        for stack in stacks:
            await stack.aclose()
        for engine in engines:
            await engine.dispose()
