"""The signer's wire format: one JSON object per frame, a 4-byte big-endian length before each.

Values cross as JSON through pydantic `TypeAdapter`s of the core types (Decimal as strings, enums as
values), so both ends keep the same dataclasses. Errors cross as a class name from a fixed list and a
message (never a secret: the signer masks them), and are raised again as the same class.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import struct
from typing import Any

from pydantic import TypeAdapter

from qari.adapters.exchanges.keys import KeyCheck
from qari.adapters.vault import SealedSecret
from qari.core import errors
from qari.core.instrument import InstrumentRules
from qari.core.market import OrderBook, Ticker
from qari.core.orders import Balance, Fill, OrderReport, OrderRequest
from qari.logging import mask_text
from qari.risk.guard import GuardRefusedError

MAX_FRAME = 8 * 1024 * 1024  # a full markets table of a large venue fits; anything bigger is an attack
# The inherited pipe the parent writes the token to (then closes); the name of a variable, no secret.
TOKEN_FD_ENV = "QARI_SIGNER_TOKEN_FD"  # noqa: S105

_HEADER = struct.Struct(">I")


class SignerError(Exception):
    """The signer refused the call, failed, or could not be reached. Never retried blindly."""


class SignerUnavailableError(SignerError, errors.ExchangeUnavailableError):
    """No signer answers on the socket: nothing can be signed (fails closed)."""


class SignerOutcomeUnknownError(SignerError, errors.OutcomeUnknownError):
    """The connection broke after an order was handed over: it may have been placed (never retried)."""


class SignerRefusedError(SignerError):
    """The signer refused the caller (wrong or missing token) or the call (unknown, not allowed)."""


# Private calls the signer performs for a connection, and the types of their results.
RESULTS: dict[str, TypeAdapter[Any]] = {
    "fetch_balances": TypeAdapter(dict[str, Balance]),
    "create_order": TypeAdapter(OrderReport),
    "cancel_order": TypeAdapter(type(None)),
    "fetch_order_by_client_id": TypeAdapter(OrderReport | None),
    "fetch_open_orders": TypeAdapter(list[OrderReport]),
    "fetch_fills": TypeAdapter(list[Fill]),
}
ORDER_REQUEST: TypeAdapter[OrderRequest] = TypeAdapter(OrderRequest)
KEY_CHECK: TypeAdapter[KeyCheck] = TypeAdapter(KeyCheck)
PUBLIC_TYPES = (InstrumentRules, OrderBook, Ticker)  # never cross: public calls stay in the caller

_ERRORS: dict[str, type[Exception]] = {
    cls.__name__: cls
    for cls in (
        errors.ExchangeUnavailableError,
        errors.ExchangeMaintenanceError,
        errors.ClockSkewError,
        errors.OutcomeUnknownError,
        errors.RejectedError,
        GuardRefusedError,  # the signer's blast-radius guard refused a buy (journaled REJECTED, no retry)
        errors.InvalidCredentialsError,
        errors.KeyOrIpRejectedError,
        errors.PermissionDeniedError,
        errors.InsufficientFundsError,
        errors.OrderRejectedError,
        errors.OrderNotFoundError,
        errors.FatalError,
        SignerRefusedError,
        LookupError,
        ValueError,
    )
}


def dump_key_check(check: KeyCheck) -> Any:
    """A key check as JSON (the read-only label mapping crosses as a plain object)."""
    if check.permissions is not None:
        labels = dict(check.permissions.labels)
        check = dataclasses.replace(check, permissions=dataclasses.replace(check.permissions, labels=labels))
    return KEY_CHECK.dump_python(check, mode="json")


def error_frame(exc: BaseException) -> dict[str, Any]:
    name = type(exc).__name__
    for cls in type(exc).__mro__:  # the nearest class the caller knows
        if cls.__name__ in _ERRORS:
            name = cls.__name__
            break
    else:
        name = "SignerError"
    return {"ok": False, "error": name, "message": mask_text(str(exc))[:500]}


def raise_error(frame: dict[str, Any]) -> None:
    cls = _ERRORS.get(str(frame.get("error")), SignerError)
    raise cls(str(frame.get("message", "the signer failed")))


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next frame, or None at a clean end of stream; `SignerRefusedError` on a malformed one."""
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise SignerRefusedError("frame too large")
    body = await reader.readexactly(size)
    try:
        value = json.loads(body)
    except ValueError:
        raise SignerRefusedError("frame is not JSON") from None
    if not isinstance(value, dict):
        raise SignerRefusedError("frame is not a JSON object")
    return value


async def write_frame(writer: asyncio.StreamWriter, value: dict[str, Any]) -> None:
    body = json.dumps(value, separators=(",", ":")).encode()
    writer.write(_HEADER.pack(len(body)) + body)
    await writer.drain()


def sealed_to_json(sealed: SealedSecret) -> dict[str, Any]:
    b64 = base64.b64encode
    return {
        "ciphertext": b64(sealed.ciphertext).decode(),
        "nonce": b64(sealed.nonce).decode(),
        "wrapped_key": b64(sealed.wrapped_key).decode(),
        "wrap_nonce": b64(sealed.wrap_nonce).decode(),
        "key_version": sealed.key_version,
    }


def sealed_from_json(value: dict[str, Any]) -> SealedSecret:
    d = base64.b64decode
    return SealedSecret(
        d(value["ciphertext"]),
        d(value["nonce"]),
        d(value["wrapped_key"]),
        d(value["wrap_nonce"]),
        int(value["key_version"]),
    )
