"""Translate ccxt/venue failures into the `qari.core.errors` tree, from the exchange's **raw code**.

ccxt's own classes are inconsistent across venues (EXCHANGES.md §2: KuCoin 400006 → AuthenticationError,
MEXC 700006 → BadRequest, OKX 50119/50120 → ExchangeError, HTX unknown codes raise nothing), so the raw
code in the response body decides first; ccxt's class is only the fallback. This is the one module
that looks at venue codes or messages.

Messages never carry request data: they are rebuilt from the code and the venue's short message, with
any known credential masked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import ccxt.async_support as ccxt

from qari.core.errors import (
    ClockSkewError,
    ExchangeMaintenanceError,
    ExchangeUnavailableError,
    FatalError,
    InsufficientFundsError,
    InvalidCredentialsError,
    KeyOrIpRejectedError,
    OrderNotFoundError,
    OrderRejectedError,
    PermissionDeniedError,
    QariError,
    RejectedError,
)

INVALID = InvalidCredentialsError
KEY_OR_IP = KeyOrIpRejectedError
PERMISSION = PermissionDeniedError
CLOCK = ClockSkewError
UNAVAILABLE = ExchangeUnavailableError
MAINTENANCE = ExchangeMaintenanceError
FUNDS = InsufficientFundsError
NOT_FOUND = OrderNotFoundError
REJECTED = OrderRejectedError


def _table(**groups: Iterable[object]) -> dict[str, type[QariError]]:
    kinds: dict[str, type[QariError]] = {
        "invalid": INVALID,
        "key_or_ip": KEY_OR_IP,
        "permission": PERMISSION,
        "clock": CLOCK,
        "unavailable": UNAVAILABLE,
        "maintenance": MAINTENANCE,
        "funds": FUNDS,
        "not_found": NOT_FOUND,
        "rejected": REJECTED,
    }
    return {str(code): kinds[kind] for kind, codes in groups.items() for code in codes}


_BYBIT = _table(
    invalid=(10003, 10004, 10007, 10008, 33004),
    permission=(10005, 10009, 10010, 10020, 10028),
    clock=(10002,),
    unavailable=(10000, 10006, 10018, 10019),
    maintenance=(10016,),  # "service error / under maintenance": engine health pauses entries on it
    funds=(110007, 170131, 170033),
    not_found=(110001, 170213, 170142),
    rejected=(10001, 110003, 110017, 170130, 170136, 170137, 170140, 170148),
)

RAW_CODES: Mapping[str, Mapping[str, type[QariError]]] = {
    "bybit": _BYBIT,
    "sandbox": _BYBIT,
    "binance": _table(
        invalid=(-1002, -1022, -2008, -2014),
        # "Invalid API-key, IP, or permissions for action": a wrong key and a server IP missing from the
        # key's whitelist get the same answer (EXCHANGES.md §1.2).
        key_or_ip=(-2015,),
        clock=(-1021,),
        unavailable=(-1001, -1003, -1007, -1008),
        funds=(),
        not_found=(-2011, -2013),
        rejected=(-1013, -1100, -1102, -1111, -1121, -2010),
    ),
    "okx": _table(
        invalid=(50100, 50101, 50103, 50104, 50105, 50106, 50107, 50111, 50113, 50114, 50119),
        permission=(50110, 50120),
        clock=(50102, 50112),
        unavailable=(50001, 50004, 50011, 50013, 50026),
        funds=(51008,),
        not_found=(51603,),
        rejected=(51000, 51020, 51121),
    ),
    "kucoin": _table(
        invalid=(400001, 400003, 400004, 400005, 411100),
        permission=(400006, 400007),
        clock=(400002,),
        unavailable=(429000, 500000),
        funds=(200004,),
        not_found=(400100,),
        rejected=(230005,),
    ),
    "gate": _table(
        invalid=("INVALID_KEY", "INVALID_SIGNATURE", "INVALID_CREDENTIALS", "MISSING_REQUIRED_HEADER"),
        permission=("IP_FORBIDDEN", "FORBIDDEN", "READ_ONLY", "ACCOUNT_LOCKED"),
        clock=("REQUEST_EXPIRED",),
        unavailable=("TOO_MANY_REQUESTS", "SERVER_ERROR", "TOO_BUSY"),
        funds=("BALANCE_NOT_ENOUGH",),
        not_found=("ORDER_NOT_FOUND",),
        rejected=("INVALID_PARAM_VALUE", "INVALID_PRECISION", "ORDER_CLOSED"),
    ),
    "bitget": _table(
        invalid=(40001, 40002, 40003, 40006, 40009, 40010, 40011, 40012, 40037),
        permission=(40014, 40016, 40018),
        clock=(40004, 40005, 40008),
        unavailable=(429, 45001),
        funds=(43012,),
        not_found=(40768, 43001),
        rejected=(40034, 43006),
    ),
    "mexc": _table(
        invalid=(401, 402, 602, 10072, 700001, 700002),
        permission=(403, 406, 701, 702, 703, 704, 700006, 700007),
        clock=(700003, 700005),
        unavailable=(429, 510),
        funds=(30004,),
        not_found=(-2013,),
        rejected=(30002, 30029),
    ),
    "htx": _table(
        invalid=(
            "api-signature-not-valid",
            "api-signature-check-failed",
            "1003",
            "403",
            "invalid-access-key",
        ),
        permission=("forbidden-trade-for-ip", "api-not-support-temp-addr"),
        unavailable=("gateway-internal-error", "timeout", "rate-too-many-requests"),
        maintenance=("system-maintenance",),
        funds=("account-frozen-balance-insufficient-error", "insufficient-balance"),
        not_found=("order-queryorder-invalid", "base-record-invalid", "order-orderstate-error"),
        rejected=("order-value-min-error", "order-limitorder-amount-min-error", "invalid-amount"),
    ),
}

# Messages that override the code (same code, different meaning), matched case-insensitively.
_MESSAGE_RULES: Mapping[str, tuple[tuple[str, type[QariError]], ...]] = {
    "htx": (
        ("api key has no permission", PERMISSION),
        ("ip address", PERMISSION),
        ("whitelist", PERMISSION),
        ("timestamp", CLOCK),
    ),
    "binance": (("has no operation privilege", PERMISSION), ("insufficient balance", FUNDS)),
}

_CCXT_FALLBACK: tuple[tuple[type[Exception], type[QariError]], ...] = (
    (ccxt.PermissionDenied, PERMISSION),  # before AuthenticationError: it is a subclass
    (ccxt.AccountSuspended, INVALID),
    (ccxt.AuthenticationError, INVALID),
    (ccxt.InvalidNonce, CLOCK),
    (ccxt.InsufficientFunds, FUNDS),
    (ccxt.OrderNotFound, NOT_FOUND),
    (ccxt.InvalidOrder, REJECTED),
    (ccxt.OnMaintenance, MAINTENANCE),  # before NetworkError: it is a subclass
    (ccxt.NetworkError, UNAVAILABLE),  # timeouts, DDoS protection, rate limits, maintenance
    (ccxt.NotSupported, FatalError),
    (ccxt.ArgumentsRequired, FatalError),
    (ccxt.BadSymbol, REJECTED),
    (ccxt.BadRequest, REJECTED),
)

_CODE_FIELDS = ("retCode", "err-code", "err_code", "label", "code")
_MESSAGE_FIELDS = ("retMsg", "err-msg", "err_msg", "message", "msg")


def raw_code(body: str | None) -> tuple[str | None, str]:
    """The venue's own error code and short message from a response body (None when it is not an error)."""
    if not body:
        return None, ""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    message = next((str(data[f]) for f in _MESSAGE_FIELDS if data.get(f)), "")
    for name in _CODE_FIELDS:
        value = data.get(name)
        if value is None or value == "":
            continue
        code = str(value)
        if code in ("0", "200", "200000", "00000"):  # success envelopes
            return None, message
        return code, message
    return None, message


def class_for(exchange: str, code: str | None, message: str) -> type[QariError] | None:
    lowered = message.lower()
    for fragment, cls in _MESSAGE_RULES.get(exchange, ()):
        if fragment in lowered:
            return cls
    if code is None:
        return None
    return RAW_CODES.get(exchange, {}).get(code)


def mask(text: str, secrets: Iterable[str]) -> str:
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, "****")
    return text


def translate(
    exchange: str,
    error: Exception,
    body: str | None = None,
    *,
    secrets: Iterable[str] = (),
    protocol: str | None = None,
) -> QariError:
    """One ccxt/transport failure → one QARI error, decided by the raw code when the venue sent one.
    `protocol`: whose codes they are when not the exchange's own name (the sandbox: the protocol it
    speaks, QARI_SANDBOX_PROTOCOL)."""
    if isinstance(error, QariError):
        return error
    code, message = raw_code(body)
    cls = class_for(protocol or exchange, code, message)
    if cls is None:
        cls = next((q for c, q in _CCXT_FALLBACK if isinstance(error, c)), None)
    if cls is None:
        cls = RejectedError if isinstance(error, ccxt.ExchangeError) else ExchangeUnavailableError
    if code is not None:
        text = f"{exchange}: {code} {message}".strip()
    else:
        text = f"{exchange}: {type(error).__name__}"
    return cls(mask(text[:300], secrets), code=code)
