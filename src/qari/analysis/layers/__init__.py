"""The 11 layers in canonical order (L01..L11): one concept per module, codes as attributes."""

from __future__ import annotations

from qari.analysis.layer import Layer
from qari.analysis.layers.btc_dominance import BtcDominance
from qari.analysis.layers.fibonacci import Fibonacci
from qari.analysis.layers.indicators import Indicators
from qari.analysis.layers.liquidity import LiquiditySfp
from qari.analysis.layers.order_blocks import OrderBlocksFvg
from qari.analysis.layers.order_book import OrderBookDepth
from qari.analysis.layers.sentiment import Sentiment
from qari.analysis.layers.session import SessionContext
from qari.analysis.layers.structure import MarketStructure
from qari.analysis.layers.volume import Volume
from qari.analysis.layers.vwap import Vwap

LAYERS: tuple[Layer, ...] = (
    MarketStructure(),
    LiquiditySfp(),
    OrderBlocksFvg(),
    Volume(),
    Sentiment(),
    Fibonacci(),
    Indicators(),
    OrderBookDepth(),
    Vwap(),
    SessionContext(),
    BtcDominance(),
)

__all__ = ["LAYERS"]
