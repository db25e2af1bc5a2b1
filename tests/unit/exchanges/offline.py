"""Real ccxt 4.5.90 with the network replaced: `fetch` records every request ccxt builds (URL, method,
signed headers, body) and answers from a route table of recorded venue payloads; markets come from
ccxt's own static market fixtures (`fixtures/ccxt_markets_btc_usdt.json`, source named in the file)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import ccxt.async_support as ccxt
import pytest
from ccxt.base.decimal_to_precision import TICK_SIZE

from qari.adapters.exchanges.capabilities import capabilities_for
from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, Credentials

FIXTURES = Path(__file__).parent / "fixtures"
MARKETS: dict[str, Any] = json.loads((FIXTURES / "ccxt_markets_btc_usdt.json").read_text())["markets"]
PAYLOADS: dict[str, Any] = json.loads((FIXTURES / "venue_payloads.json").read_text())


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    url: str
    headers: dict[str, Any]
    body: str | None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.url).query).items()}

    def params(self) -> dict[str, Any]:
        """The request's parameters: the JSON or form body, else the query string."""
        if self.body:
            try:
                data = json.loads(self.body)
            except ValueError:
                return {k: v[-1] for k, v in parse_qs(self.body).items()}
            return data if isinstance(data, dict) else {"_": data}
        return self.query


@dataclass(frozen=True, slots=True)
class HttpError:
    """A recorded error answer: ccxt's own `handle_errors` turns it into its exception, as on the wire."""

    status: int
    body: str


class Recorder:
    """Stands in for `Exchange.fetch`: routes are (method, path fragment, response), first match wins."""

    def __init__(self, routes: list[tuple[str, str, Any]] | None = None) -> None:
        self.routes = routes or []
        self.calls: list[Call] = []

    async def answer(self, exchange: ccxt.Exchange, url: str, method: str, headers: Any, body: Any) -> Any:
        self.calls.append(Call(method, url, dict(headers or {}), body))
        for verb, fragment, response in self.routes:
            if verb == method and fragment in url:
                if isinstance(response, HttpError):  # what ccxt's fetch does with an error answer
                    exchange.last_http_response = response.body
                    parsed = json.loads(response.body)
                    exchange.handle_errors(
                        response.status, "error", url, method, {}, response.body, parsed, headers, body
                    )
                    exchange.handle_http_status_code(response.status, "error", url, method, response.body)
                    raise AssertionError(f"ccxt raised nothing for {response}")
                return copy.deepcopy(response)
        raise AssertionError(f"no recorded answer for {method} {url}")

    def only(self, fragment: str) -> Call:
        found = [c for c in self.calls if fragment in c.url]
        assert len(found) == 1, [c.url for c in self.calls]
        return found[0]


def offline_client(
    venue: str, monkeypatch: pytest.MonkeyPatch, routes: list[tuple[str, str, Any]] | None = None
) -> tuple[CcxtExchangeClient, Recorder]:
    """A keyed `CcxtExchangeClient` for `venue` whose ccxt class talks to a `Recorder`."""
    caps = capabilities_for(venue)
    cls = getattr(ccxt, caps.ccxt_id)
    recorder = Recorder(routes)

    async def fetch_markets(self: ccxt.Exchange, params: Any = None) -> list[Any]:
        market = copy.deepcopy(MARKETS[caps.ccxt_id if venue == "sandbox" else venue])
        if self.precisionMode == TICK_SIZE:  # older fixtures give decimal places (e.g. Binance's 5)
            precision = market["precision"]
            for name, value in precision.items():
                if isinstance(value, int) and value >= 1:
                    precision[name] = 10.0**-value
        for name in ("linear", "inverse", "settle", "settleId", "contractSize", "expiry", "strike"):
            market.setdefault(name, None)  # spot: fields newer ccxt reads, absent from older fixtures
        return [market]

    async def fetch(
        self: ccxt.Exchange, url: str, method: str = "GET", headers: Any = None, body: Any = None
    ) -> Any:
        return await recorder.answer(self, url, method, headers, body)

    monkeypatch.setattr(cls, "fetch", fetch)
    monkeypatch.setattr(cls, "fetch_markets", fetch_markets)

    async def credentials() -> Credentials:
        return Credentials("0123456789abcdef0123", "secret-value-0123", "pass-phrase")

    return CcxtExchangeClient(venue, credentials, rate_limit=False), recorder


def payload(name: str) -> Any:
    """A recorded venue payload from `fixtures/venue_payloads.json` (each entry names its source)."""
    return copy.deepcopy(PAYLOADS[name]["payload"])
