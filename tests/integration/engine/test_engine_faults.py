"""Fault tolerance: with the sandbox answering 10 % of requests with timeouts, 5xx, rate limits and
maintenance, the engine keeps cycling, loses nothing, and recovers when the faults stop."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tests.integration.engine.support import MARKET_DATA_DIR as MARKET_DATA
from tests.integration.engine.support import PROTOCOLS, audit, sandbox_account, stepped_sandbox_engine
from tests.market_data import needs_market_data

from qari.adapters.simulator.harness import SandboxServer
from qari.core.time import to_ms
from qari.engine.cycle import Timeouts
from qari.engine.health import ExchangeState

PAIRS = ("SUI/USDT", "INJ/USDT")
START = dt.datetime(2024, 8, 8, 15, 30, tzinfo=dt.UTC)  # fresh setups soon after
FAULTY = dt.timedelta(hours=5)  # an entry at 17:00 fills at 19:37 and is protected at 19:45
CALM = dt.timedelta(hours=1)
KINDS = ("timeout", "http_5xx", "rate_limit", "maintenance")
PER_KIND = 0.026  # four rules: 1 - (1 - p)^4 ~= 10 % of requests fail

# Every request of the protocol's private and public API (the admin API is never faulted).
API_PATHS = {"bybit": "/v5/", "binance": "/api/v3/", "okx": "/api/v5/"}

pytestmark = needs_market_data


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_engine_when_sandbox_injects_faults_then_it_keeps_cycling_loses_nothing_and_recovers(
    tmp_path: Path, protocol: str
) -> None:
    with SandboxServer.start(
        data_dir=MARKET_DATA, symbols=[*PAIRS, "BTC/USDT"], stepped_start_ms=to_ms(START), protocol=protocol
    ) as sandbox:
        account = sandbox_account(sandbox, {"USDT": "10000"})
        key = account[0]
        run = await stepped_sandbox_engine(
            sandbox,
            tmp_path,
            accounts={1: account},
            start=START,
            pairs=PAIRS,
            timeouts=Timeouts(refresh_seconds=20, user_seconds=20, manage_seconds=20),
            timeout_ms=800,
        )
        for kind in KINDS:
            options = {"delay_ms": 1500} if kind == "timeout" else {}
            sandbox.inject_fault(kind, probability=PER_KIND, paths=[API_PATHS[protocol]], **options)
        # And the worst case for orders: the venue carries out the first order, but the answer is lost.
        sandbox.inject_fault("timeout", count=1, orders_only=True, after=True, delay_ms=1500)
        try:
            faulty = await run.engine.run(until=START + FAULTY)
            cycles_under_faults = faulty.cycles
            left = sandbox.admin("GET", "/faults")
            sandbox.clear_faults()
            calm = await run.engine.run(until=START + FAULTY + CALM)
        finally:
            await run.engine.stop()
        result = await audit(sandbox.venue.exchange, sandbox.account_of(key), run.sessions, 1)

    assert cycles_under_faults == FAULTY // dt.timedelta(minutes=15)
    assert calm.failures == 0
    assert not any(rule.get("remaining") == 1 for rule in left), "the lost order answer never happened"
    assert run.engine.cycle.health.state("sandbox") is ExchangeState.UP
    assert run.engine.cycle.last_report is not None and run.engine.cycle.last_report.errors == 0
    assert result.duplicate_link_ids == []
    assert result.unprotected == []
    assert result.missing_fills == []
    assert result.entries_filled >= 1
