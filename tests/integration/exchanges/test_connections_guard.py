"""Bad input, secret leaks, the re-verification sweep and the client factory for stored keys."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest

from qari.adapters.exchanges.keys import KeyStatus
from qari.services import exchange_keys

from .conftest import Api, StartStandin, connected_bybit
from .standins.base import WITHDRAW, StandinKey

URL = "/api/v1/exchange/connections"
GOOD = {
    "exchange": "bybit",
    "api_key": "QAbybitKEY00000000W1x9",
    "api_secret": "QAbybitSECRET0000000000000000000zZ7k",
}


BAD_INPUT = (
    ({**GOOD, "exchange": "ftx"}, "exchange"),
    ({**GOOD, "exchange": ""}, "exchange"),
    ({**GOOD, "api_key": ""}, "api_key"),
    ({**GOOD, "api_key": "   "}, "api_key"),
    ({**GOOD, "api_secret": ""}, "api_secret"),
    ({**GOOD, "api_key": "K" * 10_000}, "api_key"),
    ({**GOOD, "api_secret": "S" * 100_000}, "api_secret"),
    ({**GOOD, "api_key": "clé-ünïcödé-🔑"}, "api_key"),
    ({**GOOD, "api_key": "has space inside"}, "api_key"),
    ({**GOOD, "api_secret": "sécret"}, "api_secret"),
    ({"exchange": "okx", "api_key": "okxkey123456", "api_secret": "okxsecret123"}, "passphrase"),
    (
        {"exchange": "kucoin", "api_key": "kck123456", "api_secret": "kcs123456", "passphrase": ""},
        "passphrase",
    ),
    (
        {"exchange": "bitget", "api_key": "bgk123456", "api_secret": "bgs123456", "passphrase": "p" * 500},
        "passphrase",
    ),
    ({"exchange": "bybit"}, "api_key"),
)


async def test_connect_when_bad_input_then_422_naming_field_without_echo(api: Api) -> None:
    for payload, field in BAD_INPUT:
        response = await api.client.post(URL, json=payload, headers=api.headers)

        assert response.status_code == 422, (field, response.text)
        detail = response.json()["detail"]
        assert detail.startswith(field), detail
        for value in payload.values():
            if len(value) > 6:
                assert value not in response.text
    assert await api.scalar("SELECT count(*) FROM vault_secrets") == 0


async def test_connect_when_body_not_json_object_then_422(api: Api) -> None:
    response = await api.client.post(URL, json=["bybit"], headers=api.headers)
    assert response.status_code == 422 and response.json()["detail"]


async def test_connect_flow_when_debug_logging_then_secret_in_no_log_response_or_database_byte(
    api: Api, start_standin: StartStandin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("qari.adapters.exchanges.ccxt").setLevel(logging.DEBUG)  # ccxt's request dumps too
    standin = await start_standin("bitget")
    secret, passphrase, key = "bitget-SECRET-never-leaks-77", "Pass-never-leaks-88", "bitgetKEYabcdef123456"
    standin.add_key(StandinKey(key, secret, passphrase))
    api.point(bitget=standin.base_url)
    payload = {"exchange": "bitget", "api_key": key, "api_secret": secret, "passphrase": passphrase}
    try:
        responses = [
            await api.client.post(URL, json={**payload, "api_secret": secret[:-1]}, headers=api.headers),
            await api.client.post(URL, json={**payload, "passphrase": passphrase + "x"}, headers=api.headers),
            created := await api.client.post(URL, json=payload, headers=api.headers),
            await api.client.get(URL, headers=api.headers),
            await api.client.post(f"{URL}/{created.json()['id']}/verify", headers=api.headers),
        ]
        standin.add_key(StandinKey(key, secret, passphrase, WITHDRAW))
        responses.append(await api.client.post(f"{URL}/{created.json()['id']}/verify", headers=api.headers))
    finally:
        logging.getLogger("qari.adapters.exchanges.ccxt").setLevel(logging.INFO)

    assert created.status_code == 201
    assert responses[-1].json()["status"] == "permissions_error"
    assert "Request:" in caplog.text  # ccxt did dump its requests (headers included) — masked
    blobs = [r.text for r in responses] + [caplog.text]
    database = api.database_bytes()
    for value in (secret, passphrase, secret[:-1], passphrase + "x"):
        assert all(value not in blob for blob in blobs), value
        assert value.encode() not in database, value
    assert key not in caplog.text and key.encode() not in database


async def test_reverify_due_when_key_gains_withdraw_then_status_changes_and_alert(
    api: Api, start_standin: StartStandin
) -> None:
    standin, created = await connected_bybit(api, start_standin)
    state = api.app.state
    verifier = exchange_keys.ConnectionVerifier(
        state.sessions, state.vault, api.clock, state.exchange_endpoints
    )

    assert await verifier.reverify_due(api.clock.now()) == 0  # just verified: not due
    standin.add_key(StandinKey(GOOD["api_key"], GOOD["api_secret"], None, WITHDRAW))
    api.clock.advance(dt.timedelta(hours=1))
    checked = await verifier.reverify_due(api.clock.now())

    assert checked == 1
    row = (await api.client.get(f"{URL}/{created['id']}", headers=api.headers)).json()
    assert row["status"] == KeyStatus.PERMISSIONS_ERROR.value and "Withdrawal" in row["status_detail"]
    assert await api.scalar("SELECT count(*) FROM alert_outbox WHERE kind = 'key_permissions_changed'") == 1
    api.clock.advance(dt.timedelta(hours=1))
    assert await verifier.reverify_due(api.clock.now()) == 0  # refused keys wait for the user's new key


async def test_reverify_due_when_exchange_down_then_unreachable_and_recovers(
    api: Api, start_standin: StartStandin
) -> None:
    standin, created = await connected_bybit(api, start_standin)
    state = api.app.state
    api.point(bybit="http://127.0.0.1:9")
    api.clock.advance(dt.timedelta(hours=1))

    await exchange_keys.reverify_due(
        state.sessions, state.vault, api.clock, endpoints=state.exchange_endpoints
    )
    down = (await api.client.get(f"{URL}/{created['id']}", headers=api.headers)).json()
    api.point(bybit=standin.base_url)
    api.clock.advance(dt.timedelta(hours=1))
    await exchange_keys.reverify_due(
        state.sessions, state.vault, api.clock, endpoints=state.exchange_endpoints
    )
    back = (await api.client.get(f"{URL}/{created['id']}", headers=api.headers)).json()

    assert down["status"] == "unreachable" and down["reachable"] is False
    assert await api.scalar("SELECT count(*) FROM alert_outbox WHERE kind = 'exchange_unreachable'") == 1
    assert back["status"] == "connected" and back["verified_at"] > down["verified_at"]


async def test_open_client_when_stored_key_then_balances_and_no_plaintext_kept(
    api: Api, start_standin: StartStandin
) -> None:
    _, created = await connected_bybit(api, start_standin)

    balances, held = await api.stored_client_balances(created["id"])

    assert balances["USDT"].free == Decimal("1000")
    assert GOOD["api_secret"] not in held and GOOD["api_key"] not in held


async def test_key_facts_when_connected_then_status_and_fresh_verification(
    api: Api, start_standin: StartStandin
) -> None:
    _, created = await connected_bybit(api, start_standin)
    user_id = await api.scalar("SELECT user_id FROM exchange_connections")

    async with api.app.state.sessions() as session:
        status, verified = await exchange_keys.key_facts(session, user_id, "bybit")
        missing = await exchange_keys.key_facts(session, user_id, "okx")
        active = await exchange_keys.active_connections(session, "bybit")

    assert status == "connected" and verified is not None and verified.tzinfo is not None
    assert abs((api.clock.now() - verified).total_seconds()) < 1
    assert missing == ("not_connected", None)
    assert active == [(user_id, created["id"])]
