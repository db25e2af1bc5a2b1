"""The operator's user list shows each user's plan and exchange-connection status (issue #8), read
from connections made through the real API against the built-in sandbox over HTTP."""

from __future__ import annotations

from tests.helpers import register_and_login

from qari.adapters.simulator.harness import SandboxServer

from .conftest import Api

URL = "/api/v1/exchange/connections"


async def test_admin_users_when_keys_connected_broken_or_absent_then_each_user_shows_plan_and_status(
    api: Api, sandbox_server: SandboxServer
) -> None:
    api.point_sandbox(sandbox_server)
    operator = api.headers  # the first account of the app
    one_click = await api.client.post(f"{URL}/sandbox", headers=operator)
    assert one_click.status_code == 201, one_click.text

    # A second user's key is revoked on the exchange; re-verifying records Invalid Credentials.
    broken = await register_and_login(api.client, "broken@example.com")
    key, secret = sandbox_server.create_key(balances={"USDT": "100"})
    made = await api.client.post(
        URL, json={"exchange": "sandbox", "api_key": key, "api_secret": secret}, headers=broken
    )
    assert made.status_code == 201, made.text
    sandbox_server.revoke_key(key)
    checked = await api.client.post(f"{URL}/{made.json()['id']}/verify", headers=broken)
    assert checked.json()["status"] == "invalid_credentials", checked.text
    plain = await register_and_login(api.client, "plain@example.com")

    response = await api.client.get("/api/v1/admin/users", headers=operator)

    assert response.status_code == 200, response.text
    users = {u["email"]: u for u in response.json()}
    op_email = next(email for email, u in users.items() if u["is_operator"])
    assert users[op_email]["connection_status"] == "connected"
    assert [(c["exchange"], c["exchange_name"], c["status"]) for c in users[op_email]["connections"]] == [
        ("sandbox", "QARI Sandbox", "connected")
    ]
    assert users[op_email]["connections"][0]["verified_at"] is not None
    assert users["broken@example.com"]["connection_status"] == "invalid_credentials"
    assert users["plain@example.com"]["connection_status"] == "none"
    assert users["plain@example.com"]["connections"] == []
    for user in users.values():
        assert user["plan"]["tier"] == "trial" and user["plan"]["active"] is True
    body = response.text
    assert key not in body and secret not in body  # statuses only, never key material

    assert (await api.client.get("/api/v1/admin/users", headers=plain)).status_code == 403
    schema = (await api.client.get("/openapi.json")).json()
    listed = schema["paths"]["/api/v1/admin/users"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed["schema"]["items"]["$ref"].endswith("/AdminUserPublic")
    fields = schema["components"]["schemas"]["AdminUserPublic"]["properties"]
    assert {"plan", "connection_status", "connections"} <= set(fields)
    assert "none" in fields["connection_status"]["description"]
