"""Stand-in per venue, by QARI exchange id."""

from __future__ import annotations

from .base import Standin
from .binance import BinanceStandin
from .bitget import BitgetStandin
from .bybit import BybitStandin
from .gate import GateStandin
from .htx import HtxStandin
from .kucoin import KucoinStandin
from .mexc import MexcStandin
from .okx import OkxStandin

STANDINS: dict[str, type[Standin]] = {
    "bybit": BybitStandin,
    "binance": BinanceStandin,
    "okx": OkxStandin,
    "kucoin": KucoinStandin,
    "gate": GateStandin,
    "bitget": BitgetStandin,
    "mexc": MexcStandin,
    "htx": HtxStandin,
}
