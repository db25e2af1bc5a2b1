"""`GET /api/v1/events/stream` over a real uvicorn server (issue 19 item 7): what the engine's journal
(`SqlTradingStore`, the store the engine writes through) and the services record reaches the stream
of that user only, as it is committed, with no polling; one stream per login session (a second
replaces the first); keep-alive comments; the stream ends when its session does."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from tests.helpers import DEFAULT_PASSWORD, register_and_login

from qari.adapters.persistence.repositories.trading import SqlTradingStore
from qari.core.orders import OrderType, Side
from qari.trading.order import OrderRole
from qari.trading.position import PositionState
from qari.trading.records import OrderRecord, PositionRecord

from .conftest import Served

STREAM = "/api/v1/events/stream"
AT = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)


async def frames(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, object]]]:
    """(event name, data) per server-sent event; a comment line comes as ("comment", {"text": …})."""
    name = ""
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield "comment", {"text": line[1:].strip()}
        elif line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))


async def next_named(events: AsyncIterator[tuple[str, dict[str, object]]], name: str) -> dict[str, object]:
    async for got, payload in events:
        if got == name:
            return payload
    raise AssertionError(f"the stream ended before a {name!r} event")


Frames = AsyncIterator[tuple[str, dict[str, object]]]


async def nothing_within(events: Frames, seconds: float) -> list[object]:
    seen: list[object] = []
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(seconds):
            async for item in events:
                if item[0] != "comment":
                    seen.append(item)
    return seen


def a_position(user_id: int) -> PositionRecord:
    return PositionRecord(
        user_id=user_id,
        exchange_id="sandbox",
        symbol="SOL/USDT",
        base="SOL",
        state=PositionState.PENDING,
        entry_price=Decimal(100),
        structural_stop=Decimal(90),
        stop_price=Decimal(90),
        pt1=Decimal(110),
        pt2=Decimal(120),
        leg1_qty=Decimal(1),
        leg2_qty=Decimal(1),
        planned_r_quote=Decimal(10),
        fee_rate=Decimal("0.001"),
        leg1_expires_at=AT + dt.timedelta(hours=4),
        leg2_expires_at=AT + dt.timedelta(hours=24),
        opened_at=AT,
    )


def an_entry(position: PositionRecord) -> OrderRecord:
    assert position.id is not None
    return OrderRecord(
        position_id=position.id,
        user_id=position.user_id,
        symbol="SOL/USDT",
        role=OrderRole.LEG1,
        side=Side.BUY,
        type=OrderType.LIMIT,
        qty_base=Decimal(1),
        client_order_id=f"qari-live-{position.id}",
        created_at=AT,
        price=Decimal(100),
    )


async def user_id(client: httpx.AsyncClient, auth: dict[str, str]) -> int:
    me = await client.get("/api/v1/me", headers=auth)
    return int(me.json()["id"])


async def test_stream_when_the_engine_journals_an_order_then_its_user_hears_and_no_one_else(
    served: Served,
) -> None:
    store = SqlTradingStore(served.app.state.sessions)  # what the engine records through
    async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
        alice = await register_and_login(client)
        bob = await register_and_login(client)
        alice_id = await user_id(client, alice)
        async with (
            client.stream("GET", STREAM, headers=alice) as alice_stream,
            client.stream("GET", STREAM, headers=bob) as bob_stream,
        ):
            assert alice_stream.status_code == 200
            assert alice_stream.headers["content-type"].startswith("text/event-stream")
            alice_events, bob_events = frames(alice_stream), frames(bob_stream)
            async with asyncio.timeout(10):
                ready = await next_named(alice_events, "ready")
                await next_named(bob_events, "ready")
            assert ready["resources"]["positions"] == "/positions"  # type: ignore[index]

            position = await store.add_position(a_position(alice_id))
            order = await store.add_order(an_entry(position))
            async with asyncio.timeout(5):
                first = await next_named(alice_events, "change")
                second = await next_named(alice_events, "change")
            changes = {first["type"]: first, second["type"]: second}
            assert changes["position"]["ids"] == {"position_id": position.id}
            assert changes["order"]["ids"] == {"position_id": position.id, "order_id": order.id}
            assert {"positions", "trades", "portfolio"} <= set(changes["order"]["resources"])  # type: ignore[arg-type]
            # The event came after the commit: the refetch it asks for already sees the position.
            listed = await client.get("/api/v1/positions", headers=alice)
            assert position.id in [p["id"] for p in _items(listed.json())]

            assert await nothing_within(bob_events, 1.0) == []


def _items(body: object) -> list[dict[str, object]]:
    if isinstance(body, list):
        return body
    assert isinstance(body, dict)
    for key in ("items", "positions", "open"):
        if isinstance(body.get(key), list):
            return body[key]  # type: ignore[no-any-return]
    raise AssertionError(f"no list in {body}")


async def test_stream_when_risk_settings_change_through_the_api_then_change_event(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
        alice = await register_and_login(client)
        bob = await register_and_login(client)
        async with (
            client.stream("GET", STREAM, headers=alice) as alice_stream,
            client.stream("GET", STREAM, headers=bob) as bob_stream,
        ):
            alice_events, bob_events = frames(alice_stream), frames(bob_stream)
            async with asyncio.timeout(10):
                await next_named(alice_events, "ready")
                await next_named(bob_events, "ready")
            changed = await client.put("/api/v1/settings/risk", json={"cooldown_hours": 36}, headers=alice)
            assert changed.status_code == 200
            async with asyncio.timeout(5):
                change = await next_named(alice_events, "change")
            assert change["type"] == "risk_settings"
            assert "risk_settings" in change["resources"]  # type: ignore[operator]
            assert await nothing_within(bob_events, 1.0) == []


async def test_stream_when_the_operator_pulls_the_platform_kill_switch_then_every_user_hears(
    base_url: str,
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        operator = await register_and_login(client)  # the first account is the operator
        user = await register_and_login(client)
        async with client.stream("GET", STREAM, headers=user) as stream:
            events = frames(stream)
            async with asyncio.timeout(10):
                await next_named(events, "ready")
            changed = await client.patch(
                "/api/v1/admin/platform", json={"kill_switch": True}, headers=operator
            )
            assert changed.status_code == 200, changed.text
            async with asyncio.timeout(5):
                change = await next_named(events, "change")
            assert change["type"] == "engine"
            assert change["resources"] == ["engine"]


async def test_stream_when_a_write_rolls_back_then_no_event(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
        alice = await register_and_login(client)
        alice_id = await user_id(client, alice)
        async with client.stream("GET", STREAM, headers=alice) as stream:
            events = frames(stream)
            async with asyncio.timeout(10):
                await next_named(events, "ready")
            store = SqlTradingStore(served.app.state.sessions)
            with pytest.raises(RuntimeError, match="planted"):
                async with store.batch():
                    await store.add_position(a_position(alice_id))
                    raise RuntimeError("planted: the unit of work fails before its batch commits")
            assert await nothing_within(events, 1.0) == []


async def test_stream_when_anonymous_then_401(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        response = await client.get(STREAM)
    assert response.status_code == 401
    assert "log in" in response.json()["detail"]


async def test_stream_when_quiet_then_keep_alive_comments(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        auth = await register_and_login(client)
        async with client.stream("GET", f"{STREAM}?keepalive=0.3", headers=auth) as stream:
            events = frames(stream)
            async with asyncio.timeout(5):
                await next_named(events, "ready")
                assert await anext(events) == ("comment", {"text": "keep-alive"})


async def test_stream_when_a_second_stream_of_the_session_opens_then_it_replaces_the_first(
    base_url: str,
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        email = "streams@example.com"
        auth = await register_and_login(client, email=email)
        login = await client.post("/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD})
        client.cookies.clear()
        other_session = {"Authorization": f"Bearer {login.json()['access_token']}"}
        async with (
            client.stream("GET", STREAM, headers=auth) as first,
            client.stream("GET", STREAM, headers=other_session) as other,
        ):
            first_events, other_events = frames(first), frames(other)
            async with asyncio.timeout(10):
                await next_named(first_events, "ready")
                await next_named(other_events, "ready")
            async with client.stream("GET", STREAM, headers=auth) as second:
                assert second.status_code == 200
                second_events = frames(second)
                async with asyncio.timeout(5):
                    await next_named(first_events, "replaced")
                    assert [item async for item in first_events] == []  # and the first stream ended
                    await next_named(second_events, "ready")
                # The replacing stream and the other login session's stream both still hear changes.
                await client.put("/api/v1/settings/risk", json={"cooldown_hours": 30}, headers=auth)
                async with asyncio.timeout(5):
                    assert (await next_named(second_events, "change"))["type"] == "risk_settings"
                    assert (await next_named(other_events, "change"))["type"] == "risk_settings"


async def test_stream_when_its_session_logs_out_then_logged_out_and_the_stream_ends(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        auth = await register_and_login(client)
        async with client.stream("GET", STREAM, headers=auth) as stream:  # keep-alive 15 s: not the cause
            events = frames(stream)
            async with asyncio.timeout(10):
                await next_named(events, "ready")
            assert (await client.post("/api/v1/auth/logout", headers=auth)).status_code == 204
            async with asyncio.timeout(3):
                await next_named(events, "logged_out")
                assert [item async for item in events] == []
