"""One request budget per exchange + key, shared by every client of the process (throttle.py)."""

from __future__ import annotations

from typing import Any

from tests.contract.harness import KEY, Rig, payload

from qari.adapters.exchanges.ccxt_client import Credentials
from qari.adapters.exchanges.throttle import BUDGETS, key_scope

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
