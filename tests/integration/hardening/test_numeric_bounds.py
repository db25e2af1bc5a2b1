"""Issue 16 item 1: a huge number in a request is refused at once, never converted (which would block
the shared event loop for tens of seconds)."""

from __future__ import annotations

import time

import httpx
import pytest
from tests.helpers import register_and_login

RISK = "/api/v1/settings/risk"


@pytest.mark.parametrize(
    "update",
    [
        {"max_positions": "1e1000000"},
        {"spread_limit_bps": "1e999999"},
        {"cooldown_hours": "-1e1000000"},
        {"allocation_value": "1e-1000000"},
        {"stop_loss_pct": "1" + "0" * 5000},
        {"allocation_value": "10." + "0" * 20000 + "1"},
    ],
)
async def test_put_risk_when_number_is_huge_then_4xx_fast(client: httpx.AsyncClient, update: dict) -> None:
    auth = await register_and_login(client)
    started = time.perf_counter()
    response = await client.put(RISK, json=update, headers=auth)
    elapsed = time.perf_counter() - started
    assert response.status_code == 422, response.text
    (name,) = update
    assert name in {e["field"] for e in response.json()["errors"]}
    assert elapsed < 3.0, f"{update!r} took {elapsed:.1f} s"  # the unbounded parse took minutes


@pytest.mark.parametrize("qty", ["1e1000000", "1e-1000000", "9" * 5000])
def test_sandbox_order_when_quantity_is_huge_then_params_error_not_system_error(
    sandbox_server, qty: str
) -> None:
    """The sandbox shares the platform's event loop when mounted: its numbers are sized first too."""
    from pybit.exceptions import InvalidRequestError

    key, secret = sandbox_server.create_key(balances={"USDT": "1000"})
    client = sandbox_server.pybit(key, secret)
    with pytest.raises(InvalidRequestError) as refused:
        client.place_order(
            category="spot", symbol="BTCUSDT", side="Buy", orderType="Limit", qty=qty, price="100"
        )
    assert refused.value.status_code == 10001, refused.value.message
