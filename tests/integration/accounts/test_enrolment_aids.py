"""What the set-up forms show: the two-factor QR code drawn by this server, and the password rules."""

from __future__ import annotations

import base64
import urllib.parse

import httpx
import segno
from tests.helpers import register_and_login

from qari.services.credentials import PASSWORD_RULES, password_problems


async def test_totp_setup_when_started_then_qr_code_of_the_otpauth_uri_as_svg(
    client: httpx.AsyncClient,
) -> None:
    headers = await register_and_login(client)
    setup = (await client.post("/api/v1/auth/totp/setup", headers=headers)).json()
    prefix, _, payload = setup["qr_svg"].partition(",")
    assert prefix.startswith("data:image/svg+xml")
    svg = base64.b64decode(payload).decode() if prefix.endswith(";base64") else urllib.parse.unquote(payload)
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "<path" in svg
    # Exactly the otpauth URI, nothing else: the same encoder gives the same drawing for it.
    assert setup["qr_svg"] == segno.make(setup["otpauth_uri"], error="m").svg_data_uri(
        scale=5, border=2, dark="#16202b"
    )
    assert setup["secret"] in setup["otpauth_uri"]


async def test_password_rules_when_asked_then_every_rule_the_check_enforces(
    client: httpx.AsyncClient,
) -> None:
    rules = (await client.get("/api/v1/auth/password-rules")).json()["rules"]
    assert rules == list(PASSWORD_RULES)
    # Each rule is one the check enforces: a password breaking only that rule is refused.
    breaking = ["Ab1!xyz", "abcdefghijklmn", "Ab1!Ab1!Ab1!Ab1!", "Janedoe-Secret-42", " Ab1!cdEfgh-42 "]
    for password in breaking:
        assert password_problems(password, email="janedoe@example.com"), password
    assert password_problems("Correct-Horse-Battery-9", email="janedoe@example.com") == []
