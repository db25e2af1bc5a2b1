"""Build QARI's ccxt client for one venue over the recording transport, with the venue's recorded
markets loaded (no `fetchMarkets` request): `Rig` per instance, `offline_client` per ccxt class (for
code that builds its own ccxt instances, such as a key check)."""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt
import pytest
from ccxt.base.decimal_to_precision import TICK_SIZE
from ccxt.base.errors import NotSupported
from tests.contract.recorder import Request, Transport, record, record_class

from qari.adapters.exchanges.capabilities import capabilities_for
from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, CcxtVenue, Credentials

FIXTURES = Path(__file__).parent / "fixtures"
VENUES = ("bybit", "binance", "okx", "kucoin", "gate", "bitget", "mexc", "htx")
# Key material for signing only: the transport never sends anything anywhere.
KEY = Credentials("contract-key-0000", "contract-secret-0000", "contract-pass")
# The answer to a venue's account-mode probe (`capabilities.account_mode_probe`), asked once per key
# before its first signed call. KuCoin: the recorded order/fill/balance payloads are all from the
# classic spot endpoints, so the probe answers the documented `data: false` (classic account); the HF
# endpoints are covered by tests/unit/exchanges/test_venue_account_modes.py (documentation samples).
ACCOUNT_MODE = {"kucoin": ("GET", "/api/v1/hf/accounts/opened", "hfAccountsOpened: documentation sample")}


@functools.cache
def _fixture(venue: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{venue}.json").read_text())
    return data


def payload(venue: str, name: str) -> Any:
    """A deep copy of one recorded body (tests may edit their copy to chain ids)."""
    return copy.deepcopy(_fixture(venue)["payloads"][name]["body"])


def markets(venue: str) -> dict[str, Any]:
    return copy.deepcopy(_fixture(venue)["markets"]["symbols"])


def _market(exchange: Any, recorded: dict[str, Any]) -> dict[str, Any]:
    """The recorded market re-derived from its raw `info` by the installed ccxt where its parser takes
    the raw entry alone (precision modes changed since some fixtures were recorded), else as recorded."""
    try:
        parsed = exchange.parse_market(recorded["info"])
    # ccxt has no standalone parser for the venue, or the entry predates the installed parser's shape
    except (NotSupported, KeyError, TypeError, ValueError, AttributeError, IndexError):
        parsed = None
    if not isinstance(parsed, dict) or parsed.get("symbol") != recorded["symbol"]:
        parsed = recorded
        precision = dict(parsed.get("precision") or {})
        if exchange.precisionMode == TICK_SIZE:  # recorded as digit counts (older ccxt): steps now
            for key in ("price", "amount"):
                if isinstance(precision.get(key), int) or float(precision.get(key) or 0.5) >= 1:
                    precision[key] = float(Decimal(1).scaleb(-int(precision[key])))
        parsed = {**parsed, "precision": precision}
    return dict(exchange.safe_market_structure(parsed))


class Rig:
    """One venue's `CcxtExchangeClient` and the transport it talks through."""

    def __init__(self, venue: str, *, rate_limit: bool = False) -> None:
        self.venue_id = venue
        self.transport = Transport()
        self._venues: list[CcxtVenue] = []
        self._clients: list[CcxtExchangeClient] = []
        self.venue = self._venue(rate_limit)
        self.client = self.client_for(KEY)
        if venue in ACCOUNT_MODE:
            method, path, name = ACCOUNT_MODE[venue]
            self.on(method, path, payload(venue, name))

    def _venue(self, rate_limit: bool) -> CcxtVenue:
        venue = CcxtVenue(self.venue_id, rate_limit=rate_limit)
        public = record(venue.public, self.transport)
        # Older fixture structures lack fields today's ccxt reads (`inverse`, `linear`, ...): ccxt's own
        # defaults fill them.
        public.set_markets({s: _market(public, m) for s, m in markets(self.venue_id).items()})
        public.options["timeDifference"] = 0
        self._venues.append(venue)
        return venue

    def client_for(self, key: Credentials, *, own_venue: bool = False) -> CcxtExchangeClient:
        """Another client on this venue (a unit of work's); `own_venue`: on a venue of its own without
        rate limiting, as a key check makes it (`inspection.check_key`)."""

        async def source() -> Credentials:
            return key

        venue = self._venue(rate_limit=False) if own_venue else self.venue
        client = CcxtExchangeClient(self.venue_id, source, venue=venue)
        self._clients.append(client)
        return client

    def orders_requests(self) -> list[Request]:
        """The requests sent, the account-mode probe left out (asserted at most once per key here)."""
        probe = ACCOUNT_MODE.get(self.venue_id)
        if probe is None:
            return list(self.transport.requests)
        probes = self.transport.sent(probe[0], probe[1])
        assert len(probes) <= len(self._clients), "the account-mode probe runs once per key and client"
        return [r for r in self.transport.requests if r not in probes]

    def on(self, method: str, path: str, body: Any, **kw: Any) -> None:
        self.transport.on(method, path, body, **kw)

    async def close(self) -> None:
        for client in self._clients:
            await client.close()
        for venue in self._venues:
            await venue.close()


@dataclass(frozen=True, slots=True)
class HttpError:
    """A recorded error answer: ccxt's own `handle_errors` turns it into its exception, as on the wire."""

    status: int
    body: str


def offline_client(
    venue: str, monkeypatch: pytest.MonkeyPatch, routes: list[tuple[str, str, Any]] | None = None
) -> tuple[CcxtExchangeClient, Transport]:
    """A keyed `CcxtExchangeClient` for `venue` whose ccxt class (every instance, for this test) talks
    to a `Transport` answering `routes` (method, path end, body or `HttpError`; first match wins) and
    loads the venue's recorded BTC/USDT market."""
    cls = getattr(ccxt, capabilities_for(venue).ccxt_id)
    transport = Transport()
    for method, path, answer in reversed(routes or []):
        if isinstance(answer, HttpError):
            transport.on(method, path, answer.body, status=answer.status)
        else:
            transport.on(method, path, answer)
    record_class(cls, transport, monkeypatch)
    recorded = markets(venue)["BTC/USDT"]

    async def fetch_markets(self: ccxt.Exchange, params: Any = None) -> list[Any]:
        return [_market(self, copy.deepcopy(recorded))]

    monkeypatch.setattr(cls, "fetch_markets", fetch_markets)

    async def credentials() -> Credentials:
        return Credentials("0123456789abcdef0123", "secret-value-0123", "pass-phrase")

    return CcxtExchangeClient(venue, credentials, rate_limit=False), transport
