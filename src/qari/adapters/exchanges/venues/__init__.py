"""Per-venue key-permission probes, registered explicitly (no folder scanning)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType

import ccxt.async_support as ccxt

from qari.adapters.exchanges.keys import KeyPermissions
from qari.adapters.exchanges.venues import binance, bitget, bybit, gate, htx, kucoin, mexc, okx

KeyProbe = Callable[[ccxt.Exchange], Awaitable[KeyPermissions]]

PROBES: Mapping[str, KeyProbe] = MappingProxyType(
    {
        "bybit": bybit.probe,
        "sandbox": bybit.probe,
        "binance": binance.probe,
        "okx": okx.probe,
        "kucoin": kucoin.probe,
        "gate": gate.probe,
        "bitget": bitget.probe,
        "mexc": mexc.probe,
        "htx": htx.probe,
    }
)
