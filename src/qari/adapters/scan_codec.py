"""The stored form of a cycle's shared scan (`engine_shared_scans`): typed JSON, zlib-compressed.

The scan used to be stored as a pickle, and unpickling runs whatever code the bytes name: anyone able
to write that table (a web role's database account, a restored backup) could run code in every worker.
This codec only ever builds the scan's own value types, named in `_TYPES` (frozen dataclasses of the
analysis and market data), plus JSON's scalars; anything else in a row is refused with
`ScanDecodeError`, never executed.

Every value that is not a JSON scalar is a two-element array `[tag, payload]`: `"d"` a Decimal as its
exact string, `"t"` a tuple, `"l"` a list, `"m"` a dict with string keys, `"a"` a NumPy array
(`[dtype, shape, base64 of its bytes]`, float64/int64 only), `"dt"` an aware datetime in ISO 8601,
`"e"` an enum member (`[type, value]`), `"o"` a dataclass (`[type, {field: value}]`). NumPy scalars
are written as the Python number they equal.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import zlib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

import numpy as np

from qari.analysis.layer import LayerResult, Vote
from qari.analysis.verdict import Candidate, Verdict
from qari.core.errors import FatalError
from qari.core.market import CandleSeries, MarketContext, MarketSnapshot, OrderBook, Ticker
from qari.ports import ExchangeScan

FORMAT = 1  # a body is `{"v": FORMAT, "scan": ...}`: a later format is told apart, not misread

_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        ExchangeScan,
        Verdict,
        Candidate,
        LayerResult,
        MarketSnapshot,
        CandleSeries,
        Ticker,
        OrderBook,
        MarketContext,
    )
}
_ENUMS: dict[str, type[Enum]] = {Vote.__name__: Vote}
_DTYPES = {np.dtype(np.float64).str: np.float64, np.dtype(np.int64).str: np.int64}
_MAX_BODY = 256 * 1024 * 1024  # decompressed: a scan of every pair on a venue is a few megabytes


class ScanDecodeError(FatalError):
    """A stored scan that is not one this codec wrote (tampered, truncated or of another format)."""


def encode_scan(scan: ExchangeScan) -> bytes:
    """The scan as stored: compressed JSON (see module doc)."""
    text = json.dumps({"v": FORMAT, "scan": _encode(scan)}, separators=(",", ":"), allow_nan=True)
    return zlib.compress(text.encode(), 1)  # base64 of float arrays compresses little: level 1 is 5x faster


def decode_scan(body: bytes) -> ExchangeScan:
    """The scan a row holds; `ScanDecodeError` for anything `encode_scan` did not write."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(body, _MAX_BODY)
        if inflater.unconsumed_tail:
            raise ScanDecodeError("stored scan: larger than any scan this engine writes")
        document = json.loads(raw)
    except (zlib.error, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ScanDecodeError(f"stored scan: not compressed JSON ({type(e).__name__})") from None
    if not isinstance(document, dict) or document.get("v") != FORMAT or "scan" not in document:
        raise ScanDecodeError(f"stored scan: not format {FORMAT}")
    try:
        scan = _decode(document["scan"], "scan")
    except RecursionError:
        raise ScanDecodeError("stored scan: nested deeper than any scan this engine writes") from None
    if not isinstance(scan, ExchangeScan):
        raise ScanDecodeError(f"stored scan: holds a {type(scan).__name__}, not an ExchangeScan")
    return scan


# ----------------------------------------------------------------------------------------------- encoding


def _encode(value: Any) -> Any:
    if isinstance(value, Enum):  # first: a StrEnum is also a str
        return ["e", [type(value).__name__, value.value]]
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int | float | Decimal | np.generic):
        return _encode_number(value)
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        if array.dtype.str not in _DTYPES:
            raise TypeError(f"scan codec: no NumPy {array.dtype} arrays in a scan")
        return ["a", [array.dtype.str, list(array.shape), base64.b64encode(array.tobytes()).decode()]]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError("scan codec: a naive datetime in a scan")
        return ["dt", value.isoformat()]
    return _encode_structure(value)


def _encode_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return ["d", str(value)]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, int | float):
        return value
    raise TypeError(f"scan codec: cannot store a {type(value).__name__}")


def _encode_structure(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if _TYPES.get(name) is not type(value):
            raise TypeError(f"scan codec: {name} is not one of the scan's value types")
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return ["o", [name, fields]]
    if isinstance(value, tuple):
        return ["t", [_encode(v) for v in value]]
    if isinstance(value, list):
        return ["l", [_encode(v) for v in value]]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("scan codec: a dict with keys other than strings in a scan")
        return ["m", {k: _encode(v) for k, v in value.items()}]
    raise TypeError(f"scan codec: cannot store a {type(value).__name__}")


# ----------------------------------------------------------------------------------------------- decoding


def _decode(value: Any, where: str) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)):
        raise ScanDecodeError(f"stored scan: unexpected {type(value).__name__} at {where}")
    tag, payload = value
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise ScanDecodeError(f"stored scan: unknown tag {tag!r} at {where}")
    try:
        return decoder(payload, where)
    except (TypeError, ValueError, InvalidOperation) as e:
        raise ScanDecodeError(f"stored scan: bad {tag!r} value at {where} ({e})") from None


def _decimal(payload: Any, where: str) -> Decimal:
    if not isinstance(payload, str):
        raise TypeError("not a string")
    return Decimal(payload)


def _array(payload: Any, where: str) -> Any:
    dtype, shape, data = payload
    kind = _DTYPES.get(dtype)
    if kind is None or not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError("not a float64/int64 array")
    array = np.frombuffer(base64.b64decode(data, validate=True), dtype=kind)
    return array.reshape(tuple(shape)).copy()  # writable, owning its memory, as the scan's arrays are


def _datetime(payload: Any, where: str) -> dt.datetime:
    if not isinstance(payload, str):
        raise TypeError("not a string")
    at = dt.datetime.fromisoformat(payload)
    if at.tzinfo is None:
        raise ValueError("a naive datetime")
    return at


def _enum(payload: Any, where: str) -> Enum:
    name, member = payload
    enum = _ENUMS.get(name) if isinstance(name, str) else None
    if enum is None:
        raise ValueError(f"unknown enum {name!r}")
    return enum(member)


def _object(payload: Any, where: str) -> Any:
    name, fields = payload
    cls = _TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"{name!r} is not one of the scan's value types")
    if not isinstance(fields, dict):
        raise TypeError("fields are not an object")
    known = {f.name for f in dataclasses.fields(cls)}
    if not set(fields) <= known:
        raise ValueError(f"{name} has no field {sorted(set(fields) - known)[0]!r}")
    return cls(**{k: _decode(v, f"{where}.{k}") for k, v in fields.items()})


def _items(payload: Any, where: str) -> list[Any]:
    if not isinstance(payload, list):
        raise TypeError("not an array")
    return [_decode(v, f"{where}[{i}]") for i, v in enumerate(payload)]


def _mapping(payload: Any, where: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise TypeError("not an object")
    return {k: _decode(v, f"{where}.{k}") for k, v in payload.items()}


_DECODERS: dict[str, Any] = {
    "d": _decimal,
    "a": _array,
    "dt": _datetime,
    "e": _enum,
    "o": _object,
    "t": lambda payload, where: tuple(_items(payload, where)),
    "l": _items,
    "m": _mapping,
}
