"""Issue #4 acceptance, Bybit end to end: the built-in sandbox (Bybit v5 over real HTTP), real ccxt,
the real API, vault and database. `"exchange": "sandbox"` names the built-in venue."""

from __future__ import annotations

from decimal import Decimal

from qari.adapters.simulator.harness import SandboxServer
from qari.services import exchange_keys

from .conftest import Api

URL = "/api/v1/exchange/connections"


async def _post(api: Api, key: str, secret: str) -> tuple[int, dict[str, object]]:
    response = await api.client.post(
        URL, json={"exchange": "sandbox", "api_key": key, "api_secret": secret}, headers=api.headers
    )
    return response.status_code, response.json()


async def _nothing_stored(api: Api, secret: str) -> bool:
    rows = await api.scalar("SELECT count(*) FROM exchange_connections")
    ciphertexts = await api.scalar("SELECT count(*) FROM vault_secrets")
    return rows == 0 and ciphertexts == 0 and secret.encode() not in api.database_bytes()


async def test_sandbox_when_full_key_then_connected(api: Api, sandbox_server: SandboxServer) -> None:
    api.point(sandbox=sandbox_server.base_url)
    key, secret = sandbox_server.create_key(balances={"USDT": "500"})

    status, body = await _post(api, key, secret)

    assert status == 201, body
    assert body["status"] == "connected" and body["key_hint"] == key[-4:] and body["ip_restricted"] is False


async def test_sandbox_when_wrong_secret_then_invalid_credentials(
    api: Api, sandbox_server: SandboxServer
) -> None:
    api.point(sandbox=sandbox_server.base_url)
    key, secret = sandbox_server.create_key()

    status, body = await _post(api, key, secret[:-2] + "zz")

    assert status == 422 and body["status"] == "invalid_credentials"
    assert await _nothing_stored(api, secret)


async def test_sandbox_when_revoked_key_then_invalid_credentials(
    api: Api, sandbox_server: SandboxServer
) -> None:
    api.point(sandbox=sandbox_server.base_url)
    key, secret = sandbox_server.create_key()
    sandbox_server.revoke_key(key)

    status, body = await _post(api, key, secret)

    assert status == 422 and body["status"] == "invalid_credentials"


async def test_sandbox_when_read_only_key_then_permissions_error_naming_spot_trading(
    api: Api, sandbox_server: SandboxServer
) -> None:
    api.point(sandbox=sandbox_server.base_url)
    key, secret = sandbox_server.create_key(permissions={"Spot": []}, read_only=1)

    status, body = await _post(api, key, secret)

    assert status == 422 and body["status"] == "permissions_error"
    assert "Spot Trading" in str(body["detail"]) and body["missing"] == [
        "Spot Trading (Spot → Trade, on a 'Read-Write' key)"
    ]
    assert await _nothing_stored(api, secret)


async def test_sandbox_when_withdraw_or_transfer_permission_then_refused_and_no_row_no_ciphertext(
    api: Api, sandbox_server: SandboxServer
) -> None:
    api.point(sandbox=sandbox_server.base_url)
    for wallet, named in (
        (["Withdraw"], "Withdrawal"),
        (["AccountTransfer"], "Transfer"),
        (["SubMemberTransfer"], "Transfer"),
    ):
        key, secret = sandbox_server.create_key(permissions={"Spot": ["SpotTrade"], "Wallet": wallet})

        status, body = await _post(api, key, secret)

        assert status == 422 and body["status"] == "permissions_error", wallet
        assert named in str(body["detail"]) and body["forbidden"] and body["stored"] is False
        assert await _nothing_stored(api, secret)


async def test_sandbox_when_ip_bound_elsewhere_then_permissions_error(
    api: Api, sandbox_server: SandboxServer
) -> None:
    api.point(sandbox=sandbox_server.base_url)
    key, secret = sandbox_server.create_key(ips=["203.0.113.7"])

    status, body = await _post(api, key, secret)

    assert status == 422 and body["status"] == "permissions_error"
    assert "IP" in str(body["detail"])
    assert await _nothing_stored(api, secret)


async def test_sandbox_when_ip_bound_to_us_then_connected_and_restricted(
    api: Api, sandbox_server: SandboxServer
) -> None:
    api.point(sandbox=sandbox_server.base_url)
    key, secret = sandbox_server.create_key(ips=["127.0.0.1"])

    status, body = await _post(api, key, secret)

    assert status == 201 and body["ip_restricted"] is True and body["ips"] == ["127.0.0.1"]
    assert body["warning"] is None


async def test_sandbox_one_click_when_requested_then_connected_with_paper_usdt(
    api: Api, sandbox_server: SandboxServer
) -> None:
    api.point_sandbox(sandbox_server)

    response = await api.client.post(f"{URL}/sandbox", headers=api.headers)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["exchange"] == "sandbox" and body["status"] == "connected"
    balances, _ = await api.stored_client_balances(body["id"])
    assert balances["USDT"].free == Decimal(exchange_keys.SANDBOX_PAPER_USDT)
    again = await api.client.post(f"{URL}/sandbox", headers=api.headers)
    assert again.status_code == 409
    assert len(sandbox_server.venue.keys) == 1  # the refused call minted no key


async def test_sandbox_one_click_when_sandbox_down_then_503(api: Api) -> None:
    api.point(sandbox="http://127.0.0.1:9")

    response = await api.client.post(f"{URL}/sandbox", headers=api.headers)

    assert response.status_code == 503 and "sandbox" in response.json()["detail"]


async def test_sandbox_key_when_replaced_or_deleted_then_revoked_on_the_sandbox(
    api: Api, sandbox_server: SandboxServer
) -> None:
    api.point_sandbox(sandbox_server)
    made = await api.client.post(f"{URL}/sandbox", headers=api.headers)
    assert made.status_code == 201, made.text
    (paper_key,) = sandbox_server.venue.keys
    key, secret = sandbox_server.create_key(balances={"USDT": "5"})

    replaced = await api.client.put(
        f"{URL}/{made.json()['id']}",
        json={"exchange": "sandbox", "api_key": key, "api_secret": secret},
        headers=api.headers,
    )

    assert replaced.status_code == 200, replaced.text
    assert paper_key not in sandbox_server.venue.keys and key in sandbox_server.venue.keys
    deleted = await api.client.delete(f"{URL}/{made.json()['id']}", headers=api.headers)
    assert deleted.status_code == 204
    assert key not in sandbox_server.venue.keys
