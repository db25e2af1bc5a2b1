"""The scaled-out roles: one scheduler leads at a time; a worker without a broker says so."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from qari.adapters.persistence.db import make_engine
from qari.adapters.tasks import scheduler_leadership


async def test_scheduler_when_a_second_one_starts_then_it_waits_until_the_leader_leaves(pg_url: str) -> None:
    first, second = make_engine(pg_url), make_engine(pg_url)
    led: list[str] = []

    async def lead(name: str, db: object, release: asyncio.Event) -> None:
        async with scheduler_leadership(db):  # type: ignore[arg-type]
            led.append(name)
            await release.wait()

    try:
        leave_first, leave_second = asyncio.Event(), asyncio.Event()
        a = asyncio.create_task(lead("first", first, leave_first))
        await asyncio.sleep(0.5)
        b = asyncio.create_task(lead("second", second, leave_second))
        await asyncio.sleep(1.0)
        assert led == ["first"]  # the second waits while the first leads
        leave_first.set()
        await a
        await asyncio.wait_for(_until(lambda: len(led) == 2), 10)
        assert led == ["first", "second"]
        leave_second.set()
        await b
    finally:
        await first.dispose()
        await second.dispose()


async def _until(condition: object) -> None:
    while not condition():  # type: ignore[operator]
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("role", ["worker", "scheduler"])
def test_role_when_no_broker_url_then_clear_exit_2(role: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qari", role],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "QARI_BROKER_URL must name the broker" in done.stderr
