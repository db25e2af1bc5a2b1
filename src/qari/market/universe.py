"""Universe selection: the 140+ most liquid USDT spot pairs of an exchange.

Ranked by 24h quote volume (ties by symbol, so the choice is deterministic); stablecoins, leveraged
tokens, inactive markets, pairs younger than the minimum listing age and the platform blacklist are
left out. Refreshed daily by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal

from qari.core.instrument import InstrumentRules
from qari.core.market import Ticker

STABLECOINS = frozenset(
    [
        "USDT",
        "USDC",
        "BUSD",
        "TUSD",
        "FDUSD",
        "DAI",
        "USDP",
        "USDD",
        "PYUSD",
        "USDE",
        "USDS",
        "GUSD",
        "LUSD",
        "FRAX",
        "SUSD",
        "EURS",
        "EUR",
        "EURI",
        "AEUR",
        "EURC",
        "USD1",
        "RLUSD",
        "USTC",
        "UST",
        "XUSD",
        "BFUSD",
        "PAX",
        "USDJ",
        "GBP",
        "TRY",
        "BRL",
        "IDRT",
        "BIDR",
        "BVND",
        "UAH",
        "ZUSD",
        "PAXG",
        "XAUT",
    ]
)
_LEVERAGED = re.compile(r"^(?P<stem>[A-Z0-9]+?)(?:UP|DOWN|BULL|BEAR|HEDGE|\d+[LS]|\d+X)$")
DEFAULT_SIZE = 150
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class UniverseRules:
    quote: str = "USDT"
    size: int = DEFAULT_SIZE
    min_quote_volume: Decimal = Decimal(0)
    min_listing_days: int = 30


def is_stablecoin(base: str) -> bool:
    return base.upper() in STABLECOINS


def is_leveraged_token(base: str, known_bases: Collection[str] | None = None) -> bool:
    """BTCUP / ETHDOWN / XRPBULL / BNB3L / ETH5S style tokens.

    With `known_bases` (the bases the exchange lists), the stem must itself be a listed coin, so
    JUP or SYRUP are not mistaken for "J"/"SYR" leveraged tokens.
    """
    b = base.upper()
    m = _LEVERAGED.match(b)
    if m is None or b.startswith("1000"):
        return False
    stem = m.group("stem")
    if known_bases is not None:
        return stem in known_bases
    return len(stem) >= 3


def select_universe(
    tickers: Mapping[str, Ticker],
    *,
    markets: Mapping[str, InstrumentRules] | None = None,
    blacklist: Collection[str] = (),
    listed_since_ms: Mapping[str, int] | None = None,
    now_ms: int | None = None,
    rules: UniverseRules | None = None,
) -> list[str]:
    """Symbols to scan, most liquid first."""
    r = rules or UniverseRules()
    banned = {s.upper() for s in blacklist}
    ranked: list[tuple[Decimal, str]] = []
    bases = {s.split("/", 1)[0].upper() for s in tickers if "/" in s}
    for symbol, t in tickers.items():
        if "/" not in symbol or ":" in symbol:
            continue
        base, quote = symbol.split("/", 1)
        if quote != r.quote or is_stablecoin(base) or is_leveraged_token(base, bases):
            continue
        if symbol.upper() in banned or base.upper() in banned:
            continue
        if markets is not None:
            m = markets.get(symbol)
            if m is None or not m.active:
                continue
        if listed_since_ms is not None and now_ms is not None:
            first = listed_since_ms.get(symbol)
            if first is None or now_ms - first < r.min_listing_days * DAY_MS:
                continue
        volume = t.quote_volume_24h or Decimal(0)
        if volume < r.min_quote_volume:
            continue
        ranked.append((volume, symbol))
    ranked.sort(key=lambda vs: (-vs[0], vs[1]))
    return [s for _, s in ranked[: r.size]]
