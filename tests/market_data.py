"""Where the development data set is: `../shared/data/market/binance-spot-2024` (tests, benchmarks).

`QARI_MARKET_DATA` names it outright. Otherwise it is looked for beside each folder above this
checkout, then above the repository a clean clone was made from (its `origin`), so a checkout, a
nested worktree and a throwaway clone in /tmp all find the same files.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path

import pytest

SHARED_MARKET_DATA = Path("shared") / "data" / "market" / "binance-spot-2024"
CHECKOUT = Path(__file__).resolve().parents[1]


def locate_market_data(start: Path = CHECKOUT) -> Path | None:
    named = os.environ.get("QARI_MARKET_DATA")
    if named:
        return Path(named) if Path(named).is_dir() else None
    for root in (start.resolve(), *_origin(start)):
        for parent in (root, *root.parents):
            if (parent / SHARED_MARKET_DATA).is_dir():
                return parent / SHARED_MARKET_DATA
    return None


def _origin(checkout: Path) -> list[Path]:
    """The local repository `checkout` was cloned from, read from its `.git/config`."""
    config = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        config.read(checkout / ".git" / "config", encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return []
    url = config.get('remote "origin"', "url", fallback="").removeprefix("file://")
    origin = Path(url) if url and "://" not in url and ":" not in url.split("/")[0] else None
    return [origin.resolve()] if origin is not None and origin.is_dir() else []


MARKET_DATA = locate_market_data() or Path(
    os.environ.get("QARI_MARKET_DATA") or CHECKOUT.parent / SHARED_MARKET_DATA
)

# The one skip for tests that need the real candles: it fires only where ../shared is absent (a user's
# laptop), never in this repository's CI, and says how to point the tests at a copy.
needs_market_data = pytest.mark.skipif(
    not MARKET_DATA.is_dir(),
    reason=f"needs the real candle files at {MARKET_DATA} (set QARI_MARKET_DATA to their folder)",
)
