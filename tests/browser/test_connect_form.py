"""Settings → Exchange, the connect form on errors: each message beside its field in plain words (no
`api_key:` field names, no API paths), the secret kept, a live "verifying…" state that gives up after
30 s, and every failure saying that nothing was saved. Real server, real sandbox, real Chromium."""

from __future__ import annotations

import re
import uuid

from dashboard_support import LiveServer, open_page, register, shoot

RAW = re.compile(r"api_key|api_secret|/api/v1|GET |POST ")


def _visible(page: object) -> str:
    return str(page.inner_text("#tab-exchange"))  # type: ignore[attr-defined]


def test_connect_form_when_input_refused_then_errors_beside_fields_secret_kept_nothing_saved(
    page: object, live_server: LiveServer
) -> None:
    register(page, f"connect-{uuid.uuid4().hex[:8]}@example.com")
    open_page(page, "/app/settings/exchange", "#connect-form")
    page.select_option("#exchange", "sandbox")  # type: ignore[attr-defined]

    # A key too short to be real: the server names the field; the page puts it beside the field.
    page.fill("#api_key", "ab")  # type: ignore[attr-defined]
    page.fill("#api_secret", "a-secret-the-user-pasted-1234")  # type: ignore[attr-defined]
    page.click("#connect-form button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("#connect-form-result #connect-refused")  # type: ignore[attr-defined]
    assert page.inner_text("#api_key-error").startswith("Too short")  # type: ignore[attr-defined]
    assert page.get_attribute("#api_key", "aria-invalid") == "true"  # type: ignore[attr-defined]
    assert page.input_value("#api_secret") == "a-secret-the-user-pasted-1234"  # type: ignore[attr-defined]
    assert "Nothing was saved." in page.inner_text("#connect-form-result")  # type: ignore[attr-defined]
    assert not RAW.search(_visible(page)), _visible(page)
    shoot(page, "40-connect-field-error")

    # A well-formed key the exchange does not know: refused by the exchange, still nothing saved.
    page.fill("#api_key", "NOSUCHKEY0000000001")  # type: ignore[attr-defined]
    page.click("#connect-form button[type=submit]")  # type: ignore[attr-defined]
    refused = page.wait_for_selector("#connect-form-result [data-status=invalid_credentials]")  # type: ignore[attr-defined]
    assert "Nothing was saved." in refused.inner_text()
    assert page.inner_text("#api_key-error").startswith("The exchange did not accept")  # type: ignore[attr-defined]
    assert page.input_value("#api_secret") == "a-secret-the-user-pasted-1234"  # type: ignore[attr-defined]
    assert page.inner_text("#exchange-keys") == "No exchange key yet."  # type: ignore[attr-defined]
    assert not RAW.search(_visible(page)), _visible(page)
    shoot(page, "41-connect-refused")


def test_connect_form_when_exchange_never_answers_then_verifying_then_gives_up_honestly(
    page: object, live_server: LiveServer
) -> None:
    register(page, f"slow-{uuid.uuid4().hex[:8]}@example.com")
    page.clock.install()  # type: ignore[attr-defined]
    open_page(page, "/app/settings/exchange", "#connect-form")
    held: list[object] = []
    page.route("**/api/v1/exchange/connections", lambda route: held.append(route))  # type: ignore[attr-defined]
    page.fill("#api_key", "SLOWKEY000000000001")  # type: ignore[attr-defined]
    page.fill("#api_secret", "another-pasted-secret-5678")  # type: ignore[attr-defined]
    page.click("#connect-form button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-status=verifying]")  # type: ignore[attr-defined]
    page.clock.run_for(5_000)  # type: ignore[attr-defined]
    assert "5 s" in page.inner_text("[data-status=verifying]")  # type: ignore[attr-defined]
    assert page.is_disabled("#connect-form button[type=submit]")  # type: ignore[attr-defined]
    page.clock.run_for(26_000)  # type: ignore[attr-defined]
    timeout = page.wait_for_selector("#connect-timeout")  # type: ignore[attr-defined]
    assert "did not answer within 30 s" in timeout.inner_text()
    assert "saved only if it shows under “Your keys”" in timeout.inner_text()
    assert page.input_value("#api_secret") == "another-pasted-secret-5678"  # type: ignore[attr-defined]
    assert page.is_enabled("#connect-form button[type=submit]")  # type: ignore[attr-defined]
    assert held, "the form never asked the server"
    shoot(page, "42-connect-timeout")
