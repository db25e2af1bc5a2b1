"""The sandbox's refusals are read with the codes of the protocol it speaks (QARI_SANDBOX_PROTOCOL):
Binance's -1003 and OKX's 50011 ("too many requests": retry later) mean nothing in Bybit's table.
The codes and messages are the venues' documented ones (Binance spot "Error codes", OKX v5 "Error Code")."""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest

from qari.adapters.exchanges.capabilities import sandbox_capabilities
from qari.adapters.exchanges.errors import translate
from qari.core.errors import ExchangeUnavailableError, QariError

CASES = [
    (
        "binance",
        '{"code":-1003,"msg":"Too many requests; current limit is 6000 request weight per 1 MINUTE."}',
        ExchangeUnavailableError,
    ),
    ("okx", '{"code":"50011","data":[],"msg":"Too Many Requests"}', ExchangeUnavailableError),
]


@pytest.mark.parametrize(("protocol", "body", "expected"), CASES)
def test_sandbox_error_when_protocol_set_then_classified_by_that_protocols_codes(
    protocol: str, body: str, expected: type[QariError]
) -> None:
    caps = sandbox_capabilities(protocol)

    error = translate(caps.id, ccxt.ExchangeError("refused"), body, protocol=caps.ccxt_id)

    assert isinstance(error, expected), type(error)
    assert str(error).startswith("sandbox:")
