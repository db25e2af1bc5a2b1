"""Build QARI's ccxt client for one venue over the recording transport, with the venue's recorded
markets loaded (no `fetchMarkets` request)."""

from __future__ import annotations

import copy
import functools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from ccxt.base.decimal_to_precision import TICK_SIZE
from tests.contract.recorder import Transport, record

from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, CcxtVenue, Credentials

FIXTURES = Path(__file__).parent / "fixtures"
VENUES = ("bybit", "binance", "okx", "kucoin", "gate", "bitget", "mexc", "htx")
# Key material for signing only: the transport never sends anything anywhere.
KEY = Credentials("contract-key-0000", "contract-secret-0000", "contract-pass")


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
    except Exception:
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


async def _key() -> Credentials:
    return KEY


class Rig:
    """One venue's `CcxtExchangeClient` and the transport it talks through."""

    def __init__(self, venue: str) -> None:
        self.venue_id = venue
        self.transport = Transport()
        self.venue = CcxtVenue(venue, rate_limit=False)
        public = record(self.venue.public, self.transport)
        # Older fixture structures lack fields today's ccxt reads (`inverse`, `linear`, ...): ccxt's own
        # defaults fill them.
        public.set_markets({s: _market(public, m) for s, m in markets(venue).items()})
        public.options["timeDifference"] = 0
        self.client = CcxtExchangeClient(venue, _key, venue=self.venue)

    def on(self, method: str, path: str, body: Any, **kw: Any) -> None:
        self.transport.on(method, path, body, **kw)

    async def close(self) -> None:
        await self.client.close()
        await self.venue.close()
