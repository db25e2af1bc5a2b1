"""One request budget per exchange + key, and one per exchange + egress IP for public calls, shared by
every client of the process (throttle.py)."""

from __future__ import annotations

import time
from typing import Any

from tests.contract.harness import KEY, Rig, payload
from tests.contract.recorder import record

from qari.adapters.exchanges.capabilities import capabilities_for
from qari.adapters.exchanges.ccxt_client import CcxtVenue, Credentials, public_ccxt
from qari.adapters.exchanges.throttle import BUDGETS, WakeOnceThrottler, key_scope

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
