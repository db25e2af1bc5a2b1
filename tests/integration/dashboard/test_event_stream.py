"""`GET /api/v1/events/stream` over a real uvicorn server: a change to one of the caller's resources
arrives as a server-sent `change` event; anonymous callers are refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from tests.helpers import register_and_login


async def _events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, object]]]:
    name = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))


async def test_event_stream_when_risk_settings_change_then_change_event_with_new_data(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        auth = await register_and_login(client)
        async with client.stream("GET", "/api/v1/events/stream?interval=0.2", headers=auth) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = _events(response)
            async with asyncio.timeout(10):
                name, ready = await anext(events)
                assert name == "ready"
                assert "risk_settings" in ready["resources"]  # type: ignore[operator]
                await asyncio.sleep(0.6)  # the stream has seen the current state
                changed = await client.put("/api/v1/settings/risk", json={"cooldown_hours": 36}, headers=auth)
                assert changed.status_code == 200
                async for name, payload in events:
                    if name == "change" and payload["resource"] == "risk_settings":
                        assert payload["data"]["cooldown_hours"] == 36  # type: ignore[index]
                        break


async def test_event_stream_when_anonymous_then_401(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        response = await client.get("/api/v1/events/stream")
    assert response.status_code == 401
    assert "log in" in response.json()["detail"]


async def test_event_stream_when_another_user_changes_settings_then_no_event(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        alice = await register_and_login(client)
        bob = await register_and_login(client)
        async with client.stream("GET", "/api/v1/events/stream?interval=0.2", headers=bob) as response:
            events = _events(response)
            async with asyncio.timeout(5):
                assert (await anext(events))[0] == "ready"
            await asyncio.sleep(0.6)
            await client.put("/api/v1/settings/risk", json={"cooldown_hours": 40}, headers=alice)
            seen: list[object] = []
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(1.5):
                    async for name, payload in events:
                        seen.append((name, payload))
            assert [s for s in seen if s[0] == "change" and s[1]["resource"] == "risk_settings"] == []
