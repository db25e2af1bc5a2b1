"""No secret ever appears in a Telegram message, in the outbox table or in the logs, even when a caller
puts one into an alert's data and Telegram's answers are errors."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import free_port
from tests.integration.alerts.support import BOT_TOKEN, CHAT, FAST, TRADE, drain, linked_user
from tests.integration.alerts.telegram_standin import Fault, TelegramStandIn

from qari.adapters.notify.outbox import OutboxWorker
from qari.adapters.notify.telegram import TelegramClient, TelegramError
from qari.adapters.persistence.alerts import ALERT_KINDS, emit_alert

API_KEY = "XyZ12AbC34dEf56GhI"  # Bybit-shaped: 18 chars
API_SECRET = "Qw3rTy8uIoP5aSdF7gHjK2lZxC9vBnM4QwE1"  # 36 chars
BINANCE_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRETS = (API_KEY, API_SECRET, BINANCE_KEY, BOT_TOKEN, BOT_TOKEN.split(":")[1])


async def test_messages_when_callers_pass_secrets_then_none_reaches_telegram_db_or_logs(
    sessions: async_sessionmaker[AsyncSession],
    standin: TelegramStandIn,
    telegram: TelegramClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # whatever an earlier test in this process set
    user = await linked_user(sessions)
    standin.fail_next_sends(Fault(429, retry_after=1), Fault(502))
    async with sessions() as session, session.begin():
        for n, kind in enumerate(ALERT_KINDS):
            secret = SECRETS[n % len(SECRETS)]
            data = {
                **TRADE,
                "reason": f"exchange said: invalid api key {secret}",
                "detail": f"sig={secret}",
                "api_secret": secret,
            }
            await emit_alert(session, user_id=user, kind=kind, data=data)
    await drain(OutboxWorker(sessions, telegram, policy=FAST), sessions)

    texts = standin.sent_to(CHAT)
    assert len(texts) == len(ALERT_KINDS)
    async with sessions() as session:
        stored = " ".join(str(r) for r in (await session.execute(text("SELECT * FROM alert_outbox"))).all())
    logs = caplog.text
    assert "HTTP Request: POST" in logs  # httpx did log the calls: the scrubber rewrote them
    for secret in SECRETS:
        assert all(secret not in t for t in texts), secret
        assert secret not in stored, secret
        assert secret not in logs, secret


async def test_client_when_calls_fail_then_errors_name_no_token(standin: TelegramStandIn) -> None:
    wrong = "7000001:AAH-wrong-token-Qq1Ww2Ee3Rr4Tt5Yy6"
    client = TelegramClient(SecretStr(wrong), standin.base_url, timeout=2.0)
    unreachable = TelegramClient(SecretStr(BOT_TOKEN), f"http://127.0.0.1:{free_port()}", timeout=2.0)
    try:
        with pytest.raises(TelegramError) as rejected:
            await client.get_me()
        with pytest.raises(TelegramError) as refused:
            await unreachable.send_message(CHAT, "hello")
    finally:
        await client.close()
        await unreachable.close()
    assert rejected.value.status == 401 and rejected.value.kind == "rejected"
    assert refused.value.kind == "network"
    for error in (rejected.value, refused.value):
        text = f"{error} {error!r} {error.__cause__!r} {error.__context__!r}"
        assert wrong not in text and BOT_TOKEN not in text
    assert wrong not in repr(client) and BOT_TOKEN not in repr(unreachable)
