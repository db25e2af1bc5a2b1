"""Raw-code classification (EXCHANGES.md §2): the venue's code decides, ccxt's class only falls back."""

from __future__ import annotations

import json

import ccxt.async_support as ccxt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qari.adapters.exchanges.errors import mask, raw_code, translate
from qari.core.errors import (
    ClockSkewError,
    ExchangeUnavailableError,
    InvalidCredentialsError,
    KeyOrIpRejectedError,
    OrderNotFoundError,
    PermissionDeniedError,
)

CASES = [
    (
        "bybit",
        {"retCode": 10003, "retMsg": "API key is invalid."},
        ccxt.AuthenticationError,
        InvalidCredentialsError,
    ),
    ("bybit", {"retCode": 10010, "retMsg": "Unmatched IP"}, ccxt.PermissionDenied, PermissionDeniedError),
    ("bybit", {"retCode": 10002, "retMsg": "time window"}, ccxt.InvalidNonce, ClockSkewError),
    (
        "binance",
        {"code": -2015, "msg": "Invalid API-key, IP"},
        ccxt.AuthenticationError,
        KeyOrIpRejectedError,
    ),
    ("binance", {"code": -1021, "msg": "Timestamp"}, ccxt.InvalidNonce, ClockSkewError),
    # ccxt maps these to plain ExchangeError / BadRequest / AuthenticationError; the raw code corrects it.
    ("okx", {"code": "50119", "msg": "API key doesn't exist"}, ccxt.ExchangeError, InvalidCredentialsError),
    ("okx", {"code": "50120", "msg": "no permission"}, ccxt.ExchangeError, PermissionDeniedError),
    (
        "kucoin",
        {"code": "400006", "msg": "IP not in whitelist"},
        ccxt.AuthenticationError,
        PermissionDeniedError,
    ),
    ("kucoin", {"code": "400007", "msg": "Access Denied"}, ccxt.AuthenticationError, PermissionDeniedError),
    ("gate", {"label": "IP_FORBIDDEN", "message": "ip"}, ccxt.AuthenticationError, PermissionDeniedError),
    (
        "gate",
        {"label": "INVALID_KEY", "message": "Invalid key"},
        ccxt.AuthenticationError,
        InvalidCredentialsError,
    ),
    ("bitget", {"code": "40018", "msg": "Invalid IP"}, ccxt.PermissionDenied, PermissionDeniedError),
    ("mexc", {"code": 700006, "msg": "IP not in white list"}, ccxt.BadRequest, PermissionDeniedError),
    ("mexc", {"code": 10072, "msg": "invalid access key"}, ccxt.BadRequest, InvalidCredentialsError),
    (
        "htx",
        {
            "status": "error",
            "err-code": "api-signature-not-valid",
            "err-msg": "Signature not valid: API key has no permission",
        },
        ccxt.PermissionDenied,
        PermissionDeniedError,
    ),
    (
        "htx",
        {"status": "error", "err-code": "api-signature-not-valid", "err-msg": "Incorrect Access key"},
        ccxt.AuthenticationError,
        InvalidCredentialsError,
    ),
    (
        "htx",
        {"status": "error", "err-code": "order-queryorder-invalid", "err-msg": "x"},
        ccxt.OrderNotFound,
        OrderNotFoundError,
    ),
]


@pytest.mark.parametrize(("venue", "body", "ccxt_error", "expected"), CASES)
def test_translate_when_raw_code_known_then_raw_code_decides(
    venue: str, body: dict[str, object], ccxt_error: type[Exception], expected: type[Exception]
) -> None:
    error = translate(venue, ccxt_error(f"{venue} {json.dumps(body)}"), json.dumps(body))
    assert type(error) is expected
    assert error.code is not None


def test_translate_when_no_body_then_ccxt_class_falls_back() -> None:
    assert isinstance(translate("bybit", ccxt.RequestTimeout("bybit GET x")), ExchangeUnavailableError)
    assert isinstance(translate("okx", ccxt.PermissionDenied("okx")), PermissionDeniedError)


def test_translate_when_body_echoes_credentials_then_message_masks_them() -> None:
    body = json.dumps({"retCode": 10004, "retMsg": "error sign! origin_string[1700000000000mykey-abcd5000]"})
    error = translate("bybit", ccxt.AuthenticationError("x"), body, secrets=("mykey-abcd",))
    assert "mykey-abcd" not in str(error)


def test_raw_code_when_success_envelope_then_none() -> None:
    assert raw_code(json.dumps({"retCode": 0, "retMsg": "OK"}))[0] is None
    assert raw_code(json.dumps({"code": "00000"}))[0] is None
    assert raw_code("not json")[0] is None


@given(st.text(min_size=4, max_size=40), st.text(max_size=80))
def test_mask_when_secret_inside_text_then_removed(secret: str, noise: str) -> None:
    assert secret not in mask(noise + secret + noise, [secret]) or secret in "****"
