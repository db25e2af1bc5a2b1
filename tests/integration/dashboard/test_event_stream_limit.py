"""Issue 16 item 10: one login session holds at most 3 live-event streams at once (over real HTTP);
the next gets 429 until one closes, and other sessions are unaffected."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
from tests.helpers import DEFAULT_PASSWORD, register_and_login

STREAM = "/api/v1/events/stream?interval=5"
_READERS: list[object] = []  # a dropped line reader would close its stream


async def _open(
    stack: contextlib.AsyncExitStack, client: httpx.AsyncClient, auth: dict[str, str]
) -> httpx.Response:
    response = await stack.enter_async_context(client.stream("GET", STREAM, headers=auth))
    if response.status_code == 200:
        lines = response.aiter_lines()
        _READERS.append(lines)
        async with asyncio.timeout(10):
            while not (await anext(lines)).startswith("event: ready"):
                pass
    else:
        await response.aread()
    return response


async def test_event_streams_when_over_the_session_limit_then_429_until_one_closes(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        email = "streams@example.com"
        auth = await register_and_login(client, email=email)
        async with contextlib.AsyncExitStack() as outer:
            first = contextlib.AsyncExitStack()
            await outer.enter_async_context(first)
            assert (await _open(first, client, auth)).status_code == 200
            for _ in range(2):
                assert (await _open(outer, client, auth)).status_code == 200
            refused = await _open(outer, client, auth)
            assert refused.status_code == 429
            assert "3 live-update streams" in refused.json()["detail"]
            # Another login session of the same user has its own allowance.
            login = await client.post(
                "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
            )
            client.cookies.clear()
            other = {"Authorization": f"Bearer {login.json()['access_token']}"}
            assert (await _open(outer, client, other)).status_code == 200
            # Closing a stream gives its slot back.
            await first.aclose()
            async with asyncio.timeout(5):
                while (reopened := await _open(outer, client, auth)).status_code == 429:
                    await asyncio.sleep(0.1)
            assert reopened.status_code == 200
