"""The in-process live-event hub (bounded and coalescing per subscriber) and the NOTIFY payloads."""

from __future__ import annotations

import asyncio
import json
import tracemalloc

from qari.adapters.events.memory import RESYNC, LiveEventHub
from qari.adapters.persistence.live import MAX_PAYLOAD, decode, encode
from qari.ports import LiveEvent


async def test_hub_when_events_for_two_users_then_each_subscriber_gets_only_its_own_and_broadcasts() -> None:
    hub = LiveEventHub()
    async with hub.subscribe(1) as alice, hub.subscribe(2) as bob:
        hub.publish(LiveEvent(1, "order", {"order_id": 9}))
        hub.publish(LiveEvent(None, "engine"))
        assert await alice.get() == LiveEvent(1, "order", {"order_id": 9})
        assert await alice.get() == LiveEvent(None, "engine")
        assert await bob.get() == LiveEvent(None, "engine")
        assert bob.pending() == 0
    assert hub.subscribers() == 0


async def test_hub_when_the_same_change_repeats_before_it_is_read_then_it_is_kept_once() -> None:
    hub = LiveEventHub()
    async with hub.subscribe(1) as slow:
        for _ in range(1000):
            hub.publish(LiveEvent(1, "position", {"position_id": 3}))
        hub.publish(LiveEvent(1, "position", {"position_id": 4}))
        assert slow.pending() == 2
        assert slow.coalesced == 999
        assert [(await slow.get()).ids, (await slow.get()).ids] == [{"position_id": 3}, {"position_id": 4}]


async def test_hub_when_a_subscriber_never_reads_then_memory_stays_bounded_and_it_resyncs() -> None:
    hub = LiveEventHub(limit=32)
    async with hub.subscribe(1) as stalled, hub.subscribe(2) as reader:
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        for n in range(50_000):
            hub.publish(LiveEvent(1, "fill", {"order_id": n}))
        after, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert stalled.pending() == 1
        assert after - before < 64_000  # 50 000 distinct events, none of them kept
        event = await stalled.get()
        assert event.type == RESYNC and event.user_id == 1
        assert reader.pending() == 0  # another user's subscriber is untouched


async def test_hub_when_get_is_cancelled_by_a_timeout_then_no_event_is_lost() -> None:
    hub = LiveEventHub()
    async with hub.subscribe(1) as subscription:
        try:
            async with asyncio.timeout(0.05):
                await subscription.get()
        except TimeoutError:
            pass
        hub.publish(LiveEvent(1, "scan", {"exchange": "bybit"}))
        async with asyncio.timeout(1):
            assert (await subscription.get()).type == "scan"


async def test_hub_when_resync_all_then_every_subscriber_resyncs() -> None:
    hub = LiveEventHub()
    async with hub.subscribe(1) as a, hub.subscribe(2) as b:
        hub.resync_all()
        assert [(await a.get()).type, (await b.get()).type] == [RESYNC, RESYNC]


def test_notify_payloads_when_many_events_then_each_under_the_limit_and_all_decoded() -> None:
    events = [LiveEvent(7, "order", {"position_id": n, "order_id": n + 1}) for n in range(2000)]
    payloads = encode(events)
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD for p in payloads)
    assert [e for p in payloads for e in decode(p)] == events


def test_notify_decode_when_payload_is_malformed_then_nothing_and_no_error() -> None:
    assert decode("not json") == []
    assert decode(json.dumps([["x", "order", {}], [1, 2, {}], [1, "order"]])) == []
    assert decode(json.dumps({"user_id": 1})) == []
