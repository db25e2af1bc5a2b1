"""What every wire protocol of the sandbox shares: number text, parameter parsing, fault timing.

A protocol module (`bybit_api`, `binance_api`) owns its routes, auth, envelopes and error codes; the
venue core (`exchange.SimulatedExchange`) owns the market and the accounts. This module holds the few
helpers the protocol modules would otherwise write each.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from urllib.parse import parse_qsl

from starlette.responses import PlainTextResponse, Response

from qari.adapters.simulator.matching import VenueError
from qari.adapters.simulator.venue import SandboxVenue

_STABLE = ("USDT", "USDC", "USD")


def fmt(value: Decimal | None) -> str:
    """Plain notation, no trailing zeros ("0.00002", "60000", "0"); "" for None (Bybit's style)."""
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def fixed8(value: Decimal | None) -> str:
    """Eight decimals always ("0.01000000"; Binance's style), truncated as Binance prints."""
    if value is None:
        return "0.00000000"
    return format(value.quantize(Decimal("0.00000001"), rounding="ROUND_DOWN"), "f")


def on_tick(price: Decimal, tick: Decimal) -> Decimal:
    """`price` on the instrument's tick (what a venue prints: never more decimals than the tick)."""
    return (price / tick).quantize(Decimal(1), rounding=ROUND_HALF_EVEN) * tick if tick > 0 else price


MAX_NUMBER_CHARS = 40
MAX_MAGNITUDE = 20  # |exponent| of any price, quantity or id a venue takes


def parse_decimal(raw: object) -> Decimal | None:
    """A finite Decimal from a parameter, None when absent or empty; ValueError when not a number.

    Sized before converting: a huge number (`1e1000000`) would cost the shared event loop."""
    if raw is None or raw == "":
        return None
    text = str(raw)
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"{text[:MAX_NUMBER_CHARS]!r}… is too long for a number")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not a number") from None
    if not value.is_finite() or (value and abs(value.adjusted()) > MAX_MAGNITUDE):
        raise ValueError(f"{raw!r} is not a number in range")
    return value


def parse_int(raw: object) -> int | None:
    """An int from a parameter, None when absent or empty; ValueError when not an integer."""
    if raw is None or raw == "":
        return None
    text = str(raw)
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"{text[:MAX_NUMBER_CHARS]!r}… is too long for an integer")
    return int(text)


def json_request_params(method: str, query: str, body: str | bytes) -> object:
    """The parameters of a JSON-body protocol (Bybit, OKX): a GET's query string, else the body's JSON
    value ({} for an empty body), not yet checked for shape; ValueError when the body is not JSON."""
    if method == "GET":
        return dict(parse_qsl(query, keep_blank_values=True))
    if not body.strip():
        return {}
    return json.loads(body)


def usd_price(venue: SandboxVenue, coin: str) -> Decimal | None:
    """The coin's price in USD(T) on this venue, None when it lists no COIN/USDT pair."""
    if coin in _STABLE:
        return Decimal(1)
    try:
        return venue.exchange.price(f"{coin}/USDT")
    except VenueError:
        return None


def transport_fault(kind: str, status: int) -> Response | None:
    """The faults that look the same whatever the protocol: a proxy's 5xx page, a maintenance page."""
    if kind == "http_5xx":
        return PlainTextResponse(
            f"<html><body><h1>{status} Bad Gateway</h1></body></html>", status_code=status
        )
    if kind == "maintenance":
        return PlainTextResponse("The system is under maintenance. Please try again later.", status_code=503)
    return None


async def with_faults(
    venue: SandboxVenue,
    path: str,
    *,
    is_order_create: bool,
    fault_response: Callable[[str, int], Response | None],
    answer: Callable[[], Awaitable[Response]],
) -> Response:
    """Serve `answer()` under the venue's injected faults: a timeout before (the request never reached
    the venue) or after (it did, the answer is late), or a canned fault response instead."""
    rule = venue.faults.pick(path, is_order_create=is_order_create)
    if rule is not None and not (rule.kind == "timeout" and rule.after):
        if rule.kind == "timeout":
            await asyncio.sleep(rule.delay_ms / 1000)
        else:
            faulted = fault_response(rule.kind, rule.status)
            if faulted is not None:
                return faulted
    response = await answer()
    if rule is not None and rule.kind == "timeout" and rule.after:
        await asyncio.sleep(rule.delay_ms / 1000)
    return response
