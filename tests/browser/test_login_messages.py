"""The login page as a user meets it (issue 17 item 6, issue 16 item 8): any failed login says only
"wrong e-mail or password" (never which, and no two-factor prompt); the code is asked for only after
the correct password of an account that has two-factor login on. The register page lists every
password rule the server applies. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import time
import uuid

import httpx
import pyotp
from dashboard_support import PASSWORD, LiveServer, RequestLog, shoot


def _account(server: LiveServer, *, two_factor: bool) -> tuple[str, pyotp.TOTP | None]:
    email = f"login-{uuid.uuid4().hex[:8]}@example.com"
    account = {"email": email, "password": PASSWORD}
    assert httpx.post(f"{server.url}/api/v1/auth/register", json=account, timeout=10).status_code == 202
    if not two_factor:
        return email, None
    token = httpx.post(f"{server.url}/api/v1/auth/login", json=account, timeout=10).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    seed = httpx.post(f"{server.url}/api/v1/auth/totp/setup", headers=auth, timeout=10).json()["secret"]
    totp = pyotp.TOTP(seed)
    enabled = httpx.post(
        f"{server.url}/api/v1/auth/totp/enable", headers=auth, json={"code": totp.now()}, timeout=10
    )
    assert enabled.status_code == 204, enabled.text
    return email, totp


def _try(page: object, email: str, password: str) -> None:
    page.fill("#email", email)  # type: ignore[attr-defined]
    page.fill("#password", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def _wrong_shown(page: object) -> str:
    notice = page.wait_for_selector("#login-wrong")  # type: ignore[attr-defined]
    text: str = notice.inner_text()
    assert not page.is_visible("#totp")  # type: ignore[attr-defined]
    assert page.query_selector("#login-totp-needed") is None  # type: ignore[attr-defined]
    assert page.url.endswith("/app/login")  # type: ignore[attr-defined]
    page.evaluate("document.querySelector('#login-wrong').remove()")  # type: ignore[attr-defined]
    return text


def test_login_when_wrong_then_one_message_and_code_asked_only_after_right_password(
    page: object, live_server: LiveServer, requests_seen: RequestLog
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))  # type: ignore[attr-defined]
    plain, _ = _account(live_server, two_factor=False)
    guarded, totp = _account(live_server, two_factor=True)
    assert totp is not None

    page.goto("/app/login")  # type: ignore[attr-defined]
    _try(page, f"nobody-{uuid.uuid4().hex[:6]}@example.com", "Some-Wrong-Pass-77")
    unknown = _wrong_shown(page)
    shoot(page, "35-login-wrong-password")
    _try(page, plain, "Some-Wrong-Pass-77")
    wrong_plain = _wrong_shown(page)
    _try(page, guarded, "Some-Wrong-Pass-77")
    wrong_guarded = _wrong_shown(page)
    assert unknown == wrong_plain == wrong_guarded == "Wrong e-mail or password."

    # The right password of the two-factor account: now, and only now, the code is asked for.
    _try(page, guarded, PASSWORD)
    page.wait_for_selector("#totp:visible")  # type: ignore[attr-defined]
    assert "authenticator app" in page.inner_text("#login-totp-needed")  # type: ignore[attr-defined]
    shoot(page, "36-login-code-asked")
    page.fill("#totp", totp.at(time.time() + totp.interval))  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url("**/app/overview")  # type: ignore[attr-defined]

    assert errors == []
    assert requests_seen.outside == []


def test_register_page_when_opened_then_lists_every_password_rule(
    page: object, live_server: LiveServer
) -> None:
    rules = httpx.get(f"{live_server.url}/api/v1/auth/password-rules", timeout=10).json()["rules"]
    page.goto("/app/register")  # type: ignore[attr-defined]
    page.wait_for_selector("#password-rules li")  # type: ignore[attr-defined]
    shown = page.eval_on_selector_all("#password-rules li", "items => items.map(i => i.innerText)")  # type: ignore[attr-defined]
    assert shown == rules and len(rules) >= 6
    assert any("common" in rule for rule in shown)
    shoot(page, "37-register-rules")
