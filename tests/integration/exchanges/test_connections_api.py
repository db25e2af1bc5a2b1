"""The connect flow over HTTP: real ccxt → local stand-in, real SQLite, the real vault."""

from __future__ import annotations

from aiohttp import web

from .conftest import BYBIT_KEY, BYBIT_SECRET, Api, StartStandin, bybit_standin, connected_bybit
from .standins.base import READ_ONLY, TRANSFER, WITHDRAW, StandinKey

URL = "/api/v1/exchange/connections"
KEY, SECRET = BYBIT_KEY, BYBIT_SECRET


async def _counts(api: Api) -> tuple[int, int]:
    return (
        await api.scalar("SELECT count(*) FROM exchange_connections"),
        await api.scalar("SELECT count(*) FROM vault_secrets"),
    )


async def test_connect_when_full_trade_key_then_201_and_only_hint_shown(
    api: Api, start_standin: StartStandin
) -> None:
    await bybit_standin(api, start_standin)

    response = await api.client.post(
        URL, json={"exchange": "bybit", "api_key": KEY, "api_secret": SECRET}, headers=api.headers
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "connected" and body["exchange"] == "bybit"
    assert body["key_hint"] == KEY[-4:] and body["ip_restricted"] is False and body["warning"]
    listed = await api.client.get(URL, headers=api.headers)
    assert [c["id"] for c in listed.json()] == [body["id"]]
    assert KEY not in listed.text and SECRET not in listed.text and SECRET not in response.text
    assert await _counts(api) == (1, 1)
    assert SECRET.encode() not in api.database_bytes() and KEY.encode() not in api.database_bytes()


async def test_connect_when_withdraw_or_transfer_enabled_then_422_and_nothing_stored(
    api: Api, start_standin: StartStandin
) -> None:
    standin = await start_standin("bybit")
    api.point(bybit=standin.base_url)
    for profile, label in ((WITHDRAW, "Withdrawal"), (TRANSFER, "Transfer"), (READ_ONLY, "Spot")):
        standin.add_key(StandinKey(KEY, SECRET, None, profile))

        response = await api.client.post(
            URL, json={"exchange": "bybit", "api_key": KEY, "api_secret": SECRET}, headers=api.headers
        )

        assert response.status_code == 422, response.text
        assert response.json()["status"] == "permissions_error"
        assert label in response.json()["detail"]
        assert await _counts(api) == (0, 0)
    assert SECRET.encode() not in api.database_bytes()


async def test_connect_when_wrong_secret_then_422_invalid_credentials(
    api: Api, start_standin: StartStandin
) -> None:
    await bybit_standin(api, start_standin)

    response = await api.client.post(
        URL, json={"exchange": "bybit", "api_key": KEY, "api_secret": SECRET + "x"}, headers=api.headers
    )

    assert response.status_code == 422
    assert response.json()["status"] == "invalid_credentials"
    assert await _counts(api) == (0, 0)


async def test_connect_when_exchange_down_then_503_unreachable_and_nothing_stored(
    api: Api, start_standin: StartStandin
) -> None:
    standin = await bybit_standin(api, start_standin)
    await standin.stop()

    response = await api.client.post(
        URL, json={"exchange": "bybit", "api_key": KEY, "api_secret": SECRET}, headers=api.headers
    )

    assert response.status_code == 503 and response.json()["status"] == "unreachable"
    assert await _counts(api) == (0, 0)


async def test_connect_when_passphrase_venue_then_connected(api: Api, start_standin: StartStandin) -> None:
    standin = await start_standin("okx")
    standin.add_key(StandinKey("okx-key-1234567890", "okx-secret-abcdef", "Okx-Pass-1"))
    api.point(okx=standin.base_url)

    response = await api.client.post(
        URL,
        json={
            "exchange": "okx",
            "api_key": "okx-key-1234567890",
            "api_secret": "okx-secret-abcdef",
            "passphrase": "Okx-Pass-1",
        },
        headers=api.headers,
    )

    assert response.status_code == 201, response.text
    assert b"Okx-Pass-1" not in api.database_bytes()


async def test_connect_when_already_connected_then_409(api: Api, start_standin: StartStandin) -> None:
    await bybit_standin(api, start_standin)
    payload = {"exchange": "bybit", "api_key": KEY, "api_secret": SECRET}
    assert (await api.client.post(URL, json=payload, headers=api.headers)).status_code == 201

    again = await api.client.post(URL, json=payload, headers=api.headers)

    assert again.status_code == 409 and "PUT" in again.json()["detail"]


async def test_replace_when_new_key_connected_then_rotated_and_old_ciphertext_erased(
    api: Api, start_standin: StartStandin
) -> None:
    standin, created = await connected_bybit(api, start_standin)
    old_secret_id = await api.scalar("SELECT secret_id FROM exchange_connections")
    standin.add_key(StandinKey("QAbybitKEY2222222222N3w9", "second-secret-0000000000", None, WITHDRAW))

    refused = await api.client.put(
        f"{URL}/{created['id']}",
        json={
            "exchange": "bybit",
            "api_key": "QAbybitKEY2222222222N3w9",
            "api_secret": "second-secret-0000000000",
        },
        headers=api.headers,
    )
    assert refused.status_code == 422 and refused.json()["status"] == "permissions_error"
    assert await api.scalar("SELECT secret_id FROM exchange_connections") == old_secret_id

    standin.add_key(StandinKey("QAbybitKEY2222222222N3w9", "second-secret-0000000000"))
    replaced = await api.client.put(
        f"{URL}/{created['id']}",
        json={"api_key": "QAbybitKEY2222222222N3w9", "api_secret": "second-secret-0000000000"},
        headers=api.headers,
    )

    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["key_hint"] == "N3w9"
    assert await _counts(api) == (1, 1)
    assert await api.scalar(f"SELECT count(*) FROM vault_secrets WHERE id = {old_secret_id}") == 0


async def test_delete_when_connected_then_row_and_ciphertext_gone(
    api: Api, start_standin: StartStandin
) -> None:
    _, created = await connected_bybit(api, start_standin)

    response = await api.client.delete(f"{URL}/{created['id']}", headers=api.headers)

    assert response.status_code == 204
    assert await _counts(api) == (0, 0)
    assert (await api.client.delete(f"{URL}/{created['id']}", headers=api.headers)).status_code == 404


async def test_verify_when_key_revoked_then_invalid_and_alert_queued(
    api: Api, start_standin: StartStandin
) -> None:
    standin, created = await connected_bybit(api, start_standin)
    standin.keys.clear()

    response = await api.client.post(f"{URL}/{created['id']}/verify", headers=api.headers)

    assert response.status_code == 200
    assert response.json()["status"] == "invalid_credentials"
    assert await api.scalar("SELECT count(*) FROM alert_outbox WHERE kind = 'key_invalid'") == 1
    assert await _counts(api) == (1, 1)  # a stored key keeps its record with the new state


async def test_connections_when_other_user_then_404(api: Api, start_standin: StartStandin) -> None:
    from tests.helpers import register_and_login

    _, created = await connected_bybit(api, start_standin)
    other = await register_and_login(api.client)

    assert (await api.client.get(f"{URL}/{created['id']}", headers=other)).status_code == 404
    assert (await api.client.delete(f"{URL}/{created['id']}", headers=other)).status_code == 404
    assert (await api.client.get(URL, headers=other)).json() == []


async def test_connections_when_not_logged_in_then_401(api: Api) -> None:
    assert (await api.client.get(URL)).status_code == 401


async def test_egress_ip_when_not_configured_and_offline_then_unknown_with_hint(api: Api) -> None:
    api.app.state.egress_ip_detect_urls = ("http://127.0.0.1:9/",)

    response = await api.client.get("/api/v1/system/egress-ip", headers=api.headers)

    assert response.status_code == 200
    assert response.json()["ip"] == "unknown" and "QARI_EGRESS_IP" in response.json()["hint"]


async def test_egress_ip_when_detected_then_returned(api: Api) -> None:
    async def ip(request: web.Request) -> web.Response:
        return web.Response(text="198.51.100.23\n")

    server = web.Application()
    server.router.add_get("/ip", ip)
    runner = web.AppRunner(server)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        api.app.state.egress_ip_detect_urls = (f"http://127.0.0.1:{runner.addresses[0][1]}/ip",)
        response = await api.client.get("/api/v1/system/egress-ip", headers=api.headers)
    finally:
        await runner.cleanup()

    assert response.json()["ip"] == "198.51.100.23" and response.json()["source"] == "detected"
