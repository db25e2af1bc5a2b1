"""The admin API (admin token only, clear 4xx on bad input) and the sandbox mounted in the platform."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest
from tests.helpers import register_and_login

from qari.adapters.simulator.app import build_venue, create_sandbox_app
from qari.adapters.simulator.harness import FIXTURE_START_MS, SandboxServer


def _signed_headers(key: str, secret: str, payload: str) -> dict[str, str]:
    ts = str(int(time.time() * 1000))
    sign = hmac.new(secret.encode(), f"{ts}{key}5000{payload}".encode(), hashlib.sha256).hexdigest()
    return {"X-BAPI-API-KEY": key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": "5000", "X-BAPI-SIGN": sign}


def test_admin_clock_when_stepped_then_moves_forward_only(sandbox_server: SandboxServer) -> None:
    assert sandbox_server.now_ms() == FIXTURE_START_MS
    assert sandbox_server.advance(90_000) == FIXTURE_START_MS + 90_000
    assert sandbox_server.set_time(FIXTURE_START_MS + 3_600_000) == FIXTURE_START_MS + 3_600_000
    assert sandbox_server.venue.exchange.now_ms == FIXTURE_START_MS + 3_600_000
    with pytest.raises(RuntimeError, match="409"):
        sandbox_server.set_time(FIXTURE_START_MS)
    with pytest.raises(RuntimeError, match="422"):
        sandbox_server.admin("POST", "/clock", {"set_ms": 1, "advance_ms": 1})


async def test_admin_clock_when_replay_then_speed_changes_and_stepping_is_refused(tmp_path: Path) -> None:
    rows = [[FIXTURE_START_MS + i * 300_000, 100.0, 101.0, 99.0, 100.5, 10.0] for i in range(48)]
    (tmp_path / "BTC_USDT-5m.json").write_text(json.dumps(rows))
    moment = FIXTURE_START_MS + 3_600_000
    venue = build_venue(data_dir=tmp_path, replay_start_ms=moment, speed=1)
    app = create_sandbox_app(venue, admin_token="t0ken")
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    admin = {"Authorization": "Bearer t0ken"}
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox", headers=admin) as c:
        before = (await c.get("/admin/clock")).json()
        assert before["mode"] == "replay" and before["speed"] == 1
        assert (before["now_ms"] - moment) % (7 * 86_400_000) < 60_000  # the data moment, whole weeks on
        faster = (await c.post("/admin/clock", json={"speed": 120})).json()
        assert faster["speed"] == 120 and faster["now_ms"] >= before["now_ms"]
        assert (await c.post("/admin/clock", json={"speed": 0})).status_code == 422
        assert (await c.post("/admin/clock", json={"advance_ms": 1})).status_code == 409
        assert (await c.post("/admin/clock", json={"speed": 2, "advance_ms": 1})).status_code == 422
    with pytest.raises(ValueError, match="running"):
        build_venue(data_dir=tmp_path, replay_start_ms=moment, stepped_start_ms=moment)
    synthetic = build_venue(replay_start_ms=moment)  # the synthetic market starts right at the moment
    assert 0 <= synthetic.clock.now_ms() - moment < 60_000


def test_admin_clock_when_stepped_then_no_speed(sandbox_server: SandboxServer) -> None:
    with pytest.raises(RuntimeError, match="409"):
        sandbox_server.admin("POST", "/clock", {"speed": 10})
    assert sandbox_server.admin("GET", "/clock")["speed"] is None


def test_admin_input_when_invalid_then_4xx_with_reason(sandbox_server: SandboxServer) -> None:
    with pytest.raises(RuntimeError, match="422"):
        sandbox_server.admin("POST", "/keys", {"read_only": 5})
    with pytest.raises(RuntimeError, match="422"):
        sandbox_server.admin("POST", "/faults", {"kind": "meteor"})
    with pytest.raises(RuntimeError, match="404"):
        sandbox_server.revoke_key("NOPE")
    key, _ = sandbox_server.create_key(balances={"USDT": "5"})
    with pytest.raises(RuntimeError, match="422"):
        sandbox_server.set_balances(key, {"USDT": "lots"})


def test_admin_balances_and_faults_when_set_then_visible(sandbox_server: SandboxServer) -> None:
    key, _ = sandbox_server.create_key(balances={"USDT": "5"})
    sandbox_server.set_balances(key, {"USDT": "250.5", "btc": "0.1"})
    assert {c: str(v["total"]) for c, v in sandbox_server.balances(key).items()} == {
        "BTC": "0.1",
        "USDT": "250.5",
    }
    rule = sandbox_server.inject_fault("rate_limit", probability=0.5, paths=["/v5/order"])
    assert [r["id"] for r in sandbox_server.admin("GET", "/faults")] == [rule["id"]]
    sandbox_server.clear_faults()
    assert sandbox_server.admin("GET", "/faults") == []


def test_admin_when_second_key_shares_account_then_same_balances(sandbox_server: SandboxServer) -> None:
    key, _ = sandbox_server.create_key(balances={"USDT": "42"})
    viewer, _ = sandbox_server.create_key(read_only=1, account_id=sandbox_server.account_of(key))
    assert sandbox_server.balances(viewer) == sandbox_server.balances(key)


async def test_platform_when_sandbox_enabled_then_mounted_at_sandbox_bybit(client: httpx.AsyncClient) -> None:
    operator = await register_and_login(client)  # the first account: the platform operator
    created = await client.post(
        "/sandbox/bybit/admin/keys", json={"balances": {"USDT": "100"}}, headers=operator
    )
    assert created.status_code == 200
    key, secret = created.json()["api_key"], created.json()["api_secret"]
    query = "accountType=UNIFIED"
    response = await client.get(
        f"/sandbox/bybit/v5/account/wallet-balance?{query}", headers=_signed_headers(key, secret, query)
    )
    body = response.json()
    assert body["retCode"] == 0
    assert body["result"]["list"][0]["coin"][0]["walletBalance"] == "100"
    order = json.dumps(
        {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "1"}
    )
    refused = await client.post(
        "/sandbox/bybit/v5/order/create", content=order, headers=_signed_headers(key, secret, order)
    )
    assert refused.json()["retCode"] == 10001 and "price" in refused.json()["retMsg"]
    unknown = await client.get("/sandbox/bybit/v5/market/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["retCode"] == 10001
