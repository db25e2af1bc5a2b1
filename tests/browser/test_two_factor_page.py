"""Two-factor login in the browser: switch TOTP on in Settings → Security with a code from the secret
the page shows, log out, log in through the code step; a wrong code is refused with a clear message
and the right one lets the user in. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import time
import uuid

import httpx
import pyotp
from dashboard_support import PASSWORD, LiveServer, RequestLog, open_page, register, shoot


def _wrong_code(totp: pyotp.TOTP) -> str:
    """A 6-digit code valid for none of the steps the server accepts around now."""
    now = time.time()
    valid = {totp.at(now + drift) for drift in (-60, -30, 0, 30, 60)}
    return next(code for code in ("000000", "111111", "123456", "999999") if code not in valid)


def test_two_factor_when_enabled_then_login_asks_for_code_and_wrong_code_is_refused(
    page: object, live_server: LiveServer, requests_seen: RequestLog
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))  # type: ignore[attr-defined]
    email = f"twofa-{uuid.uuid4().hex[:8]}@example.com"
    register(page, email)

    # Security tab: set up, a wrong confirmation code is refused inline, the app's code switches it on.
    open_page(page, "/app/settings/security", "#two-factor")
    page.click("#totp-setup")  # type: ignore[attr-defined]
    secret = page.wait_for_selector("#totp-secret").inner_text().strip()  # type: ignore[attr-defined]
    assert len(secret) >= 16
    totp = pyotp.TOTP(secret)
    # The QR code is drawn by this server (segno, SVG), not fetched from anywhere, and it loads.
    qr = page.wait_for_selector("img#totp-qr")  # type: ignore[attr-defined]
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert page.evaluate("document.querySelector('#totp-qr').naturalWidth") > 100  # type: ignore[attr-defined]
    shoot(page, "30-2fa-setup")
    page.fill("#totp_on", _wrong_code(totp))  # type: ignore[attr-defined]
    page.click("#totp-confirm")  # type: ignore[attr-defined]
    page.wait_for_function("() => document.querySelector('#totp_on-error').innerText.trim() !== ''")  # type: ignore[attr-defined]
    assert "not valid" in page.inner_text("#totp_on-error")  # type: ignore[attr-defined]
    page.fill("#totp_on", totp.now())  # type: ignore[attr-defined]
    page.click("#totp-confirm")  # type: ignore[attr-defined]
    page.wait_for_selector("#totp-on")  # type: ignore[attr-defined]
    shoot(page, "31-2fa-enabled")

    page.click("#logout")  # type: ignore[attr-defined]
    page.wait_for_url("**/app/login")  # type: ignore[attr-defined]

    # Log in: the password alone is not enough; the page asks for the code.
    page.fill("#email", email)  # type: ignore[attr-defined]
    page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("#totp:visible")  # type: ignore[attr-defined]
    assert "authenticator app" in page.inner_text("#login-totp-needed")  # type: ignore[attr-defined]
    assert page.url.endswith("/app/login")  # type: ignore[attr-defined]
    shoot(page, "32-2fa-login-code")

    # A wrong code: refused, still on the login page, told clearly what to do.
    page.fill("#totp", _wrong_code(totp))  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    rejected = page.wait_for_selector("#login-totp-rejected")  # type: ignore[attr-defined]
    assert "code was not accepted" in rejected.inner_text()
    assert "6-digit code" in rejected.inner_text()
    assert page.url.endswith("/app/login")  # type: ignore[attr-defined]
    assert not any(c["name"] == "qari_session" for c in page.context.cookies())  # type: ignore[attr-defined]
    shoot(page, "33-2fa-wrong-code")

    # The right code (the next time step: the one used to switch it on works only once) lets them in.
    page.fill("#totp", totp.at(time.time() + totp.interval))  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url("**/app/overview")  # type: ignore[attr-defined]
    page.wait_for_selector("#positions")  # type: ignore[attr-defined]
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}  # type: ignore[attr-defined]
    me = httpx.get(f"{live_server.url}/api/v1/me", cookies=cookies, timeout=10).json()
    assert me["email"] == email and me["totp_enabled"] is True
    shoot(page, "34-2fa-logged-in")

    assert errors == []
    assert requests_seen.outside == []
