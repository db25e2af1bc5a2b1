"""Settings → Notifications over HTTP, end to end with the Telegram stand-in: link, alert, prefs, unlink."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI
from tests.conftest import free_port
from tests.helpers import register_and_login
from tests.integration.alerts.support import TRADE, app_with_telegram, open_rows, wait_until
from tests.integration.alerts.telegram_standin import BOT_USERNAME, TelegramStandIn

from qari.adapters.persistence.alerts import ALERT_KINDS, emit_alert

API = "/api/v1/notifications"
CHAT = 5150


async def emit(app: FastAPI, user_id: int, kind: str) -> None:
    async with app.state.sessions() as session, session.begin():
        await emit_alert(session, user_id=user_id, kind=kind, data=TRADE)
    app.state.telegram.worker.wake()


async def test_notifications_when_user_links_via_start_code_then_alerts_follow_prefs_until_unlinked(
    telegram_app: tuple[FastAPI, httpx.AsyncClient], standin: TelegramStandIn
) -> None:
    app, client = telegram_app
    auth = await register_and_login(client)
    user_id = (await client.get("/api/v1/me", headers=auth)).json()["id"]

    await wait_until(lambda: app.state.telegram.username is not None)  # getMe runs in the background
    status = (await client.get(f"{API}/telegram", headers=auth)).json()
    assert status["enabled"] is True and status["linked"] is False
    assert status["bot_username"] == BOT_USERNAME and status["message"] is None

    link = await client.post(f"{API}/telegram/link", headers=auth)
    assert link.status_code == 201
    code = link.json()["code"]
    assert link.json()["deep_link"] == f"https://t.me/{BOT_USERNAME}?start={code}"

    standin.user_sends(CHAT, f"/start {code}")
    await wait_until(lambda: len(standin.sent_to(CHAT)) == 1)
    assert (await client.get(f"{API}/telegram", headers=auth)).json()["linked"] is True

    await emit(app, user_id, "entry_leg1")
    await wait_until(lambda: len(standin.sent_to(CHAT)) == 2)
    assert standin.sent_to(CHAT)[1].startswith("Entry leg 1 filled — BTC/USDT")

    prefs = await client.put(f"{API}/preferences", headers=auth, json={"preferences": {"stop_loss": False}})
    assert prefs.status_code == 200
    assert prefs.json()["preferences"] == {kind: kind != "stop_loss" for kind in ALERT_KINDS}
    await emit(app, user_id, "stop_loss")
    await emit(app, user_id, "pt1")
    await wait_until(lambda: len(standin.sent_to(CHAT)) == 3)
    assert standin.sent_to(CHAT)[2].startswith("Profit target 1 hit")

    unlinked = await client.delete(f"{API}/telegram/link", headers=auth)
    assert unlinked.status_code == 200 and unlinked.json()["linked"] is False
    await emit(app, user_id, "pt2")
    for _ in range(200):
        if not await open_rows(app.state.sessions):
            break
        await asyncio.sleep(0.02)
    assert len(standin.sent_to(CHAT)) == 3


async def test_notifications_when_bad_preferences_then_422_naming_the_valid_kinds(
    telegram_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = telegram_app
    auth = await register_and_login(client)
    bad = await client.put(f"{API}/preferences", headers=auth, json={"preferences": {"stop_los": False}})
    assert bad.status_code == 422
    assert "stop_loss" in bad.json()["detail"]
    wrong_type = await client.put(f"{API}/preferences", headers=auth, json={"preferences": {"pt1": "maybe"}})
    assert wrong_type.status_code == 422
    assert (await client.get(f"{API}/preferences")).status_code == 401
    flat = await client.put(f"{API}/preferences", headers=auth, json={"pt1": False, "pt2": True})
    assert flat.status_code == 200
    assert flat.json()["preferences"]["pt1"] is False and flat.json()["preferences"]["pt2"] is True


async def test_notifications_when_server_has_no_bot_token_then_status_says_off_and_link_refused(
    client: httpx.AsyncClient,
) -> None:
    auth = await register_and_login(client)
    status = await client.get(f"{API}/telegram", headers=auth)
    assert status.status_code == 200
    assert status.json()["enabled"] is False
    assert "QARI_TELEGRAM_BOT_TOKEN" in status.json()["message"]
    link = await client.post(f"{API}/telegram/link", headers=auth)
    assert link.status_code == 409
    assert "QARI_TELEGRAM_BOT_TOKEN" in link.json()["detail"]
    prefs = await client.get(f"{API}/preferences", headers=auth)
    assert prefs.status_code == 200 and all(prefs.json()["preferences"].values())


async def test_notifications_when_telegram_unreachable_then_app_starts_and_link_says_try_later(
    tmp_path: Path,
) -> None:
    async with app_with_telegram(tmp_path, f"http://127.0.0.1:{free_port()}") as (_, client):
        auth = await register_and_login(client)
        status = (await client.get(f"{API}/telegram", headers=auth)).json()
        assert status["enabled"] is True and status["bot_username"] is None
        link = await client.post(f"{API}/telegram/link", headers=auth)
        assert link.status_code == 503
        assert "try again" in link.json()["detail"]
