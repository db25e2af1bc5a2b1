"""One request budget per exchange + key, and one per exchange + egress IP for public calls, shared by
every client of the process (throttle.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from typing import Any

import ccxt.async_support as ccxt
import pytest
from tests.conftest import free_port
from tests.contract.harness import KEY, Rig, payload
from tests.contract.recorder import record

from qari.adapters.exchanges.capabilities import capabilities_for
from qari.adapters.exchanges.ccxt_client import CcxtVenue, Credentials
from qari.adapters.exchanges.ccxt_instances import public_ccxt
from qari.adapters.exchanges.throttle import (
    BUDGETS,
    ProcessRequestBudgets,
    RedisRequestBudgets,
    WakeOnceThrottler,
    key_scope,
    request_budget_url,
)
from qari.config import Settings
from qari.engine.roles import share_request_budgets

OTHER = Credentials("contract-key-1111", "contract-secret-1111", "contract-pass")


async def _throttler(client: Any) -> Any:
    return await client.run_signed(lambda ex: _now(ex.throttler))


async def _now(value: Any) -> Any:
    return value


async def test_units_on_one_key_when_signing_then_share_one_budget_per_key() -> None:
    """Found on today's code: each client (a new one per unit of work) had a budget of its own, so
    concurrent units on one key were each allowed the venue's whole rate."""
    rig = Rig("bybit", rate_limit=True)
    try:
        first, second = rig.client, rig.client_for(KEY)
        other = rig.client_for(OTHER)
        shared = await _throttler(first)
        assert await _throttler(second) is shared
        assert await _throttler(other) is not shared
        assert shared is BUDGETS.throttler(first.public, key_scope(KEY.api_key))
    finally:
        await rig.close()


async def test_key_check_when_reading_then_charges_the_keys_budget_without_waiting() -> None:
    """Found on today's code: the key re-check ran without any budget, beside the units on that key."""
    rig = Rig("bybit", rate_limit=True)
    try:
        check = rig.client_for(KEY, own_venue=True)  # as inspection.check_key builds it
        rig.on(
            "GET",
            "/v5/account/wallet-balance",
            payload("bybit", "fetchBalance: balance after availableToWithdraw update"),
        )
        budget = BUDGETS.throttler(rig.client.public, key_scope(KEY.api_key))
        before = budget.config["tokens"]
        await check.fetch_balances()
        assert budget.config["tokens"] < before  # the units' next calls wait for what the check spent
    finally:
        await rig.close()


# Binance's documentation sample for GET /api/v3/time (weight 1: ccxt's cost 1).
SERVER_TIME = {"serverTime": 1499827319559}


async def test_public_reads_when_any_instance_reads_then_share_one_budget_per_exchange_and_ip() -> None:
    """Found on today's code: each public instance (the feed's, each client's, a key check's) had a
    limiter of its own, so together they could spend Binance's per-IP REQUEST_WEIGHT many times over."""
    rig = Rig("binance", rate_limit=True)
    rig.on("GET", "/api/v3/time", SERVER_TIME)
    feed = record(public_ccxt(capabilities_for("binance")), rig.transport)  # e.g. the sandbox's live feed
    try:
        second, check = rig.client_for(OTHER), rig.client_for(KEY, own_venue=True)
        bucket: dict[str, Any] | None = None
        for read in (rig.client.sync_time, second.sync_time, feed.fetch_time):
            await read()  # the instance's limiter now exists (and, when shared, is the bucket below)
            bucket = BUDGETS.throttler(feed, "ip:direct").config
            bucket["tokens"] = -bucket["refillRate"] * 300  # 300 ms of weight spent by the others
            started = time.monotonic()
            await read()
            assert time.monotonic() - started >= 0.25, read  # it waited for the process's budget
        assert bucket is not None
        before = bucket["tokens"]
        await check.sync_time()  # a key check is answered at once but counted
        assert bucket["tokens"] < before
    finally:
        await feed.close()
        await rig.close()


async def test_sandbox_public_reads_when_pointed_at_the_sandbox_then_keep_a_limiter_of_their_own() -> None:
    """The built-in sandbox counts no weight per IP: its hundreds of users must not queue behind a live
    venue's per-IP rate (the engine benchmark's cycle)."""
    venue = CcxtVenue("binance", base_url="http://127.0.0.1:9")
    try:
        own = venue.client_instance().throttler
        assert isinstance(own, WakeOnceThrottler)
        assert own is not venue.public.throttler
    finally:
        await venue.close()


# -- one budget across processes (RedisRequestBudgets) ------------------------------------------------------

RATE_LIMIT_MS = 100  # a venue allowing 10 calls a second (ccxt's `rateLimit`), so the test runs briskly
PER_SECOND = 1000 // RATE_LIMIT_MS
CALLS = 15  # per process: 30 together, 20 past the window's first second, so >= 2 s at the venue's rate

_CHILD = """
import asyncio, sys, time
import ccxt.async_support as ccxt
from qari.adapters.exchanges.throttle import RedisRequestBudgets, key_scope

async def main(url, prefix, calls, rate_limit):
    exchange = ccxt.bybit({"rateLimit": rate_limit})
    throttle = RedisRequestBudgets(url, prefix=prefix).throttler(exchange, key_scope("shared-key"))
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(calls):
        await throttle(1)
    print(time.time(), flush=True)
    await exchange.close()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
"""


def _prefix() -> str:
    return f"qari-test-budget-{uuid.uuid4().hex}"  # a budget of this test's own in the shared Redis


def _slow_venue(exchange_id: str = "bybit") -> Any:
    exchange = getattr(ccxt, exchange_id)({"rateLimit": RATE_LIMIT_MS})
    return exchange


async def test_two_processes_on_one_key_when_calling_then_share_the_venues_rate(redis_url: str) -> None:
    """Found on the per-process budgets: each worker process had the key's whole rate, so N workers
    spent N times what the venue allows (this test's two processes finished in ~1.4 s, the venue's
    rate needs >= 2 s)."""
    prefix = _prefix()
    exchange = _slow_venue()
    throttle = RedisRequestBudgets(redis_url, prefix=prefix).throttler(exchange, key_scope("shared-key"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, redis_url, prefix, str(CALLS), str(RATE_LIMIT_MS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdin is not None and child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        started = time.time()
        child.stdin.write("go\n")
        child.stdin.flush()
        for _ in range(CALLS):
            await throttle(1)
        ours = time.time()
        theirs = float(await asyncio.to_thread(child.stdout.readline))
        took = max(ours, theirs) - started
        # A second's worth at once, then the venue's rate: (30 - 10) calls / 10 per second.
        assert took >= (2 * CALLS - PER_SECOND) / PER_SECOND - 0.1, took
    finally:
        child.kill()
        child.wait()
        await exchange.close()


async def test_signed_calls_when_the_budgets_are_in_redis_then_ccxt_spends_the_keys_shared_budget(
    redis_url: str,
) -> None:
    """Through the client as the units use it: ccxt's own request path draws from the Redis budget."""
    before = BUDGETS.backing
    budgets = BUDGETS.backing = RedisRequestBudgets(redis_url, prefix=_prefix())
    rig = Rig("bybit", rate_limit=True)
    try:
        rig.on(
            "GET",
            "/v5/account/wallet-balance",
            payload("bybit", "fetchBalance: balance after availableToWithdraw update"),
        )
        await rig.client.fetch_balances()
        throttle = budgets.throttler(rig.client.public, key_scope(KEY.api_key))
        stats = await budgets.limiter().get_window_stats(throttle.item, *throttle.identifiers)
        assert stats.remaining < throttle.item.amount  # the balance read was counted in Redis
    finally:
        BUDGETS.backing = before
        await rig.close()


async def test_keys_on_one_venue_when_calling_at_once_then_do_not_wait_for_each_other(redis_url: str) -> None:
    prefix = _prefix()
    first, second = _slow_venue(), _slow_venue()
    a = RedisRequestBudgets(redis_url, prefix=prefix).throttler(first, key_scope("key-a"))
    b = RedisRequestBudgets(redis_url, prefix=prefix).throttler(second, key_scope("key-b"))
    try:
        started = time.monotonic()
        await asyncio.gather(*(a(1) for _ in range(PER_SECOND)), *(b(1) for _ in range(PER_SECOND)))
        # Each key's second of budget: no wait (one shared budget would need a second more).
        assert time.monotonic() - started < 0.8
    finally:
        await first.close()
        await second.close()


async def test_public_reads_of_two_processes_when_sharing_an_ip_then_share_one_weight_budget(
    redis_url: str,
) -> None:
    """The venue counts public weight per IP: every process behind that IP draws from one budget."""
    prefix = _prefix()
    caps = capabilities_for("binance")
    feeds = []
    for _ in range(2):  # two processes' public instances, each with a budget store connection of its own
        feed = public_ccxt(caps, budgets=RedisRequestBudgets(redis_url, prefix=prefix))
        feed.rateLimit = RATE_LIMIT_MS
        feeds.append(feed)
    try:
        started = time.monotonic()
        await asyncio.gather(*(feed.throttle(1) for feed in feeds for _ in range(PER_SECOND)))
        assert time.monotonic() - started >= 0.9  # 20 weight: a second's worth waited for the next
    finally:
        for feed in feeds:
            await feed.close()


async def test_key_check_when_charging_the_shared_budget_then_answers_at_once_and_others_wait(
    redis_url: str,
) -> None:
    prefix = _prefix()
    check, unit = _slow_venue(), _slow_venue()
    scope = key_scope("checked-key")
    try:
        started = time.monotonic()
        await RedisRequestBudgets(redis_url, prefix=prefix).charger(check, scope)(2 * PER_SECOND)
        assert time.monotonic() - started < 0.5  # counted past the limit, not waited for
        throttle = RedisRequestBudgets(redis_url, prefix=prefix).throttler(unit, scope)
        started = time.monotonic()
        await throttle(1)
        assert time.monotonic() - started >= 0.8  # the unit on that key waits for what the check spent
    finally:
        await check.close()
        await unit.close()


async def test_budget_store_when_unreachable_then_calls_fall_back_to_the_process_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exchange = _slow_venue()
    fallback = ProcessRequestBudgets()
    budgets = RedisRequestBudgets(f"redis://127.0.0.1:{free_port()}/0", fallback=fallback)
    try:
        await budgets.throttler(exchange, key_scope("k"))(1)
        bucket = fallback.throttler(exchange, key_scope("k")).config
        assert bucket["tokens"] < 1  # spent there instead
        assert "request budget store unreachable" in caplog.text
        spent = bucket["tokens"]
        await budgets.charger(exchange, key_scope("k"))(1)
        assert bucket["tokens"] < spent  # the store is not asked again for a while: straight here
        assert caplog.text.count("request budget store unreachable") == 1
    finally:
        await exchange.close()


def test_shared_budget_url_when_configured_then_the_redis_url_else_a_redis_broker() -> None:
    assert request_budget_url("redis://cache:6379/2", "amqp://mq") == "redis://cache:6379/2"
    assert request_budget_url(None, "redis://mq:6379/0") == "redis://mq:6379/0"
    assert request_budget_url(None, "amqp://mq") is None


def test_live_roles_when_a_redis_is_named_then_share_budgets_there_else_say_they_do_not(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """`qari scheduler` and `qari worker` (live) call this before building any client."""
    before = BUDGETS.backing
    try:
        share_request_budgets(settings, "amqp://guest:guest@127.0.0.1:5672/")
        assert BUDGETS.backing is before
        assert "request budgets are per process" in caplog.text
        share_request_budgets(
            settings.model_copy(update={"redis_url": "redis://127.0.0.1:6379/0"}), "amqp://mq"
        )
        assert isinstance(BUDGETS.backing, RedisRequestBudgets)
        assert BUDGETS.backing.url == "redis://127.0.0.1:6379/0"
        assert BUDGETS.backing.fallback is before  # Redis away: this process's own buckets
    finally:
        BUDGETS.backing = before
