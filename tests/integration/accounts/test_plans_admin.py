from __future__ import annotations

import datetime as dt

import httpx
import pytest
from tests.helpers import register_and_login

from qari.core.clocks import ManualClock


async def _operator_and_user(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, str], int]:
    operator = await register_and_login(client, "op@example.com")
    user = await register_and_login(client, "user@example.com")
    user_id = (await client.get("/api/v1/me", headers=user)).json()["id"]
    return operator, user, user_id


async def test_me_when_trial_then_capacity_5_until_three_months_later(
    timed_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    _, user, _ = await _operator_and_user(timed_client)
    plan = (await timed_client.get("/api/v1/me", headers=user)).json()["plan"]
    assert (plan["tier"], plan["capacity"], plan["active"]) == ("trial", 5, True)
    assert plan["trial_ends_at"].startswith("2026-06-01T12:00:00")
    clock.set(dt.datetime(2026, 6, 1, 12, 0, 1, tzinfo=dt.UTC))
    user = await register_and_login(timed_client, "user@example.com")  # sessions last a week
    expired = (await timed_client.get("/api/v1/me", headers=user)).json()["plan"]
    assert expired["active"] is False
    assert "trial ended" in expired["reason"]


@pytest.mark.parametrize(("tier", "capacity"), [("pro", 10), ("premium", 20), ("trial", 5)])
async def test_admin_set_plan_when_operator_then_capacity_follows_tier(
    timed_client: httpx.AsyncClient, tier: str, capacity: int
) -> None:
    operator, user, user_id = await _operator_and_user(timed_client)
    response = await timed_client.put(
        f"/api/v1/admin/users/{user_id}/plan", headers=operator, json={"tier": tier}
    )
    assert response.status_code == 200, response.text
    plan = (await timed_client.get("/api/v1/me", headers=user)).json()["plan"]
    assert (plan["tier"], plan["capacity"]) == (tier, capacity)


async def test_admin_set_plan_when_unknown_tier_or_user_then_4xx(timed_client: httpx.AsyncClient) -> None:
    operator, _, user_id = await _operator_and_user(timed_client)
    bad_tier = await timed_client.put(
        f"/api/v1/admin/users/{user_id}/plan", headers=operator, json={"tier": "gold"}
    )
    no_user = await timed_client.put("/api/v1/admin/users/9999/plan", headers=operator, json={"tier": "pro"})
    assert bad_tier.status_code == 422 and "trial, pro, premium" in bad_tier.json()["detail"]
    assert no_user.status_code == 404


async def test_admin_waiver_when_granted_then_expired_trial_active_and_revoke_undoes(
    timed_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    operator, user, user_id = await _operator_and_user(timed_client)
    clock.advance(dt.timedelta(days=120))
    operator = await register_and_login(timed_client, "op@example.com")  # sessions last a week
    user = await register_and_login(timed_client, "user@example.com")
    granted = await timed_client.put(f"/api/v1/admin/users/{user_id}/waiver", headers=operator)
    assert granted.status_code == 200
    plan = (await timed_client.get("/api/v1/me", headers=user)).json()["plan"]
    assert plan["waiver"] is True and plan["active"] is True
    revoked = await timed_client.delete(f"/api/v1/admin/users/{user_id}/waiver", headers=operator)
    assert revoked.json()["plan"]["active"] is False
    log = (await timed_client.get("/api/v1/admin/audit", headers=operator, params={"limit": 2})).json()
    assert [e["summary"] for e in log] == [
        "revoked the subscription waiver of user@example.com",
        "granted a subscription waiver to user@example.com",
    ]


async def test_admin_platform_switches_blacklist_and_audit_log(timed_client: httpx.AsyncClient) -> None:
    operator, _, _ = await _operator_and_user(timed_client)
    off = await timed_client.patch("/api/v1/admin/platform", headers=operator, json={"engine_enabled": False})
    kill = await timed_client.patch("/api/v1/admin/platform", headers=operator, json={"kill_switch": True})
    black = await timed_client.put(
        "/api/v1/admin/platform/blacklist", headers=operator, json={"symbols": ["luna/usdt", " FTT ", ""]}
    )
    assert off.json()["engine_enabled"] is False
    assert kill.json() | {"updated_at": None} == {
        "engine_enabled": False,
        "kill_switch": True,
        "blacklist": [],
        "updated_at": None,
    }
    assert black.json()["blacklist"] == ["FTT", "LUNA/USDT"]
    assert (await timed_client.get("/api/v1/admin/platform", headers=operator)).json()["kill_switch"] is True
    users = (await timed_client.get("/api/v1/admin/users", headers=operator)).json()
    assert [u["email"] for u in users] == ["op@example.com", "user@example.com"]
    log = (await timed_client.get("/api/v1/admin/audit", headers=operator)).json()
    actions = [e["action"] for e in log]
    assert actions[:3] == ["platform.blacklist", "platform.changed", "platform.changed"]
    assert "user.registered" in actions
    # Readable: who by e-mail, what in one sentence.
    assert [(e["actor_email"], e["summary"]) for e in log[:3]] == [
        ("op@example.com", "set the platform blacklist to FTT, LUNA/USDT"),
        ("op@example.com", "activated the platform kill switch"),
        ("op@example.com", "switched the engine off"),
    ]


ADMIN_CALLS = [
    ("GET", "/api/v1/admin/users", None),
    ("PUT", "/api/v1/admin/users/1/plan", {"tier": "premium"}),
    ("PUT", "/api/v1/admin/users/1/waiver", None),
    ("DELETE", "/api/v1/admin/users/1/waiver", None),
    ("GET", "/api/v1/admin/platform", None),
    ("PATCH", "/api/v1/admin/platform", {"kill_switch": True}),
    ("PUT", "/api/v1/admin/platform/blacklist", {"symbols": ["BTC"]}),
    ("GET", "/api/v1/admin/audit", None),
]


async def test_admin_endpoints_when_not_operator_then_403_and_nothing_changes(
    timed_client: httpx.AsyncClient,
) -> None:
    operator, user, _ = await _operator_and_user(timed_client)
    for method, path, body in ADMIN_CALLS:
        response = await timed_client.request(method, path, headers=user, json=body)
        assert response.status_code == 403, (method, path)
        assert "operator" in response.json()["detail"]
        anonymous = await timed_client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
    me = (await timed_client.get("/api/v1/me", headers=operator)).json()
    assert me["plan"]["tier"] == "trial" and me["plan"]["waiver"] is False
    platform = (await timed_client.get("/api/v1/admin/platform", headers=operator)).json()
    assert platform["kill_switch"] is False and platform["blacklist"] == []


async def test_me_when_two_users_then_each_sees_only_own_account(timed_client: httpx.AsyncClient) -> None:
    operator, user, user_id = await _operator_and_user(timed_client)
    mine = (await timed_client.get("/api/v1/me", headers=user)).json()
    theirs = (await timed_client.get("/api/v1/me", headers=operator)).json()
    assert mine["id"] == user_id and mine["email"] == "user@example.com"
    assert theirs["id"] != user_id and "user@example.com" not in str(theirs)
