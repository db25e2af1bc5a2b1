"""Issue 16 item 2: what a request carries is masked in that request's log records only; the secrets
the process stored or decrypted stay masked for good, whatever clients send."""

from __future__ import annotations

import json
import logging
import secrets

import httpx
import pytest

from qari.logging import mask_in_request, register_secret, request_secret_scope

LOGIN = "/api/v1/auth/login"
log = logging.getLogger("qari.tests.hardening")


async def test_login_with_path_like_password_when_done_then_later_log_lines_untouched(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    for password in ("/api/v1/", "portfolio", "Correct-Horse-Battery-9"):
        response = await client.post(LOGIN, json={"email": "nobody@example.com", "password": password})
        assert response.status_code in (401, 422), response.text
    with caplog.at_level(logging.INFO, logger="qari.tests.hardening"):
        log.info("GET /api/v1/portfolio answered 200")
    assert caplog.messages == ["GET /api/v1/portfolio answered 200"]


async def test_flood_of_secret_bearing_requests_when_sent_then_stored_secret_still_masked(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    stored = "real-api-secret-" + secrets.token_hex(16)
    register_secret(stored)  # as the vault does when it seals or opens a connection's secret
    for request in range(6):  # ~60 KB each, ~2,800 secret-named fields each
        fields = [{"secret": f"s{request}x{i:06d}"} for i in range(2800)]
        body = json.dumps(
            {"email": "a@example.com", "password": "x" * 20, "extra": fields}, separators=(",", ":")
        )
        assert len(body) < 64 * 1024
        response = await client.post(LOGIN, content=body, headers={"content-type": "application/json"})
        assert response.status_code < 500
    with caplog.at_level(logging.INFO, logger="qari.tests.hardening"):
        log.info("signing with %s", stored)
    assert caplog.messages == ["signing with ***"]


def test_request_secret_when_inside_its_request_then_masked_and_forgotten_after(
    caplog: pytest.LogCaptureFixture,
) -> None:
    password = "Tr0ub4dor&3-" + secrets.token_hex(4)
    with caplog.at_level(logging.INFO, logger="qari.tests.hardening"):
        with request_secret_scope():
            mask_in_request(password)
            log.info("checking %s", password)
        log.info("after %s", password)
    assert caplog.messages == ["checking ***", f"after {password}"]
