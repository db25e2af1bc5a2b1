from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request
from hypothesis import given, settings
from hypothesis import strategies as st

from qari.logging import KeyValueFormatter, install_secret_masking, mask_text, register_secret
from qari.web.errors import RegisterBodySecrets


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    install_secret_masking()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(KeyValueFormatter())
    logger = logging.getLogger("qari.test.masking")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_log_when_registered_secret_in_message_args_extra_exception_then_masked(
    captured: io.StringIO,
) -> None:
    secret = "Sk-live-4f9a8b7c6d5e"
    register_secret(secret)
    log = logging.getLogger("qari.test.masking")
    log.debug("message has %s inside", secret)
    log.info(f"f-string {secret}")
    log.warning("extra", extra={"detail": {"k": secret}})
    try:
        raise ValueError(f"ccxt said: bad request body apiKey=x&secret={secret}")
    except ValueError:
        log.exception("boom")
    log.error("stack", stack_info=True)
    text = captured.getvalue()
    assert secret not in text
    assert text.count("***") >= 4
    assert "Traceback" in text


@pytest.mark.parametrize(
    "line",
    [
        "GET /x?apiKey=ABCDEFGH12345&signature=0123456789abcdef",
        "headers={'X-MBX-APIKEY': 'ABCDEFGH12345', 'OK-ACCESS-PASSPHRASE': 'ABCDEFGH12345'}",
        'body {"password": "ABCDEFGH12345", "secret": "ABCDEFGH12345"}',
        "Authorization: Bearer ABCDEFGH12345",
        "https://api.telegram.org/bot123456789:ABCDEFGH12345ABCDEFGH12345/getUpdates",
    ],
)
def test_mask_text_when_credential_shaped_value_unregistered_then_masked(line: str) -> None:
    assert "ABCDEFGH12345" not in mask_text(line)


@given(secret=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=8, max_size=40))
@settings(max_examples=60, deadline=None)
def test_mask_text_when_any_registered_secret_then_absent(secret: str) -> None:
    register_secret(secret)
    assert secret not in mask_text(f"prefix {secret} middle {secret!r} suffix")


def test_log_when_below_level_then_no_cost_and_still_masked_when_enabled(captured: io.StringIO) -> None:
    secret = "debug-only-secret-77"
    register_secret(secret)
    logging.getLogger("qari.test.masking").debug("%s", secret)
    assert "***" in captured.getvalue() and secret not in captured.getvalue()


async def test_request_when_body_has_secret_fields_then_registered_before_any_log(
    captured: io.StringIO,
) -> None:

    app = FastAPI()
    app.add_middleware(RegisterBodySecrets)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, str]:
        body = await request.body()
        logging.getLogger("qari.test.masking").warning("got %s", body.decode())
        return {"ok": "yes"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        payload = {
            "exchange": "okx",
            "credentials": {"api_secret": "Zq81-never-logged", "passphrase": "Pp-77-hidden"},
        }
        assert (await client.post("/echo", json=payload)).status_code == 200
    text = captured.getvalue()
    assert "okx" in text
    assert "Zq81-never-logged" not in text and "Pp-77-hidden" not in text


def test_json_formatter_when_secret_in_message_extra_and_exception_then_masked_valid_json() -> None:
    import json

    from qari.logging import JsonFormatter

    secret = "json-line-secret-991"
    register_secret(secret)
    logger = logging.getLogger("qari.test.json")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    try:
        try:
            raise KeyError(secret)
        except KeyError:
            logger.error("failed for %s", secret, exc_info=True, extra={"user_id": 7, "note": secret})
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["level"] == "ERROR" and line["user_id"] == 7
    assert secret not in stream.getvalue()
    assert line["msg"] == "failed for ***" and "KeyError" in line["exc"]
