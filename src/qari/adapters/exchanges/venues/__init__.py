"""Per-venue key-permission probes, registered explicitly (no folder scanning) by protocol (ccxt id);
which venues exist is `capabilities.VENUES`: each gets its protocol's probe (the sandbox Bybit's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType

import ccxt.async_support as ccxt

from qari.adapters.exchanges.capabilities import VENUES, ExchangeCapabilities
from qari.adapters.exchanges.keys import KeyPermissions
from qari.adapters.exchanges.venues import binance, bitget, bybit, gate, htx, kucoin, mexc, okx

KeyProbe = Callable[[ccxt.Exchange], Awaitable[KeyPermissions]]

_BY_PROTOCOL: Mapping[str, KeyProbe] = MappingProxyType(
    {
        "bybit": bybit.probe,
        "binance": binance.probe,
        "okx": okx.probe,
        "kucoin": kucoin.probe,
        "gate": gate.probe,
        "bitget": bitget.probe,
        "mexc": mexc.probe,
        "htx": htx.probe,
    }
)

PROBES: Mapping[str, KeyProbe] = MappingProxyType({v.id: _BY_PROTOCOL[v.ccxt_id] for v in VENUES.values()})


def probe_for(caps: ExchangeCapabilities) -> KeyProbe:
    """The key probe of the protocol a venue speaks (the sandbox: whichever it was set to)."""
    return _BY_PROTOCOL[caps.ccxt_id]
