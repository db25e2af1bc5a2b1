"""Market data value types fed to the pure analysis: closed candles only.

A `CandleSeries` holds NumPy arrays (float64 is fine inside analysis maths; money leaves analysis as
`Decimal`). `ts` is each candle's open time in epoch milliseconds, strictly increasing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class CandleSeries:
    symbol: str
    timeframe: str
    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def upto(self, open_ms_inclusive: int) -> CandleSeries:
        """Candles whose open time is <= the given time (a prefix: cheap views, no copies)."""
        n = int(np.searchsorted(self.ts, open_ms_inclusive, side="right"))
        return self.head(n)

    def head(self, n: int) -> CandleSeries:
        return self.window(0, n)

    def tail(self, n: int) -> CandleSeries:
        return self.window(max(0, len(self) - n), len(self))

    def window(self, start: int, stop: int) -> CandleSeries:
        """Candles `start` to `stop` (exclusive) as views, no copies."""
        return CandleSeries(
            self.symbol,
            self.timeframe,
            self.ts[start:stop],
            self.open[start:stop],
            self.high[start:stop],
            self.low[start:stop],
            self.close[start:stop],
            self.volume[start:stop],
        )

    @staticmethod
    def from_rows(symbol: str, timeframe: str, rows: list[list[float]]) -> CandleSeries:
        """From `[[ms, o, h, l, c, v], ...]` (ccxt / freqtrade JSON order)."""
        arr = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
        return CandleSeries(
            symbol,
            timeframe,
            arr[:, 0].astype(np.int64),
            arr[:, 1].copy(),
            arr[:, 2].copy(),
            arr[:, 3].copy(),
            arr[:, 4].copy(),
            arr[:, 5].copy(),
        )


@dataclass(frozen=True, slots=True)
class Ticker:
    symbol: str
    last: Decimal
    bid: Decimal | None
    ask: Decimal | None
    quote_volume_24h: Decimal | None = None
    ts_ms: int | None = None


@dataclass(frozen=True, slots=True)
class OrderBook:
    symbol: str
    bids: tuple[tuple[Decimal, Decimal], ...]  # (price, quantity) best first
    asks: tuple[tuple[Decimal, Decimal], ...]
    ts_ms: int | None = None


@dataclass(frozen=True, slots=True)
class MarketContext:
    """Optional non-candle inputs; `None` means unavailable, and the layer that needs it abstains."""

    funding_rate: float | None = None
    open_interest: FloatArray | None = None
    fear_greed: float | None = None
    btc_dominance: FloatArray | None = None  # daily values, oldest first, up to the analysis time
    btc: dict[str, CandleSeries] | None = None  # BTC/USDT series by timeframe, for altcoin vetoes
    # Open times (ms) of `btc_dominance`; when given, the analysis only reads days closed by `at_ms`.
    btc_dominance_ts: IntArray | None = None


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Everything the 11 layers may look at for one symbol as of `at_ms` (closed candles only)."""

    symbol: str
    at_ms: int
    series: dict[str, CandleSeries]  # by timeframe: "15m", "4h", "1d"
    book: OrderBook | None = None
    ticker: Ticker | None = None
    context: MarketContext = field(default_factory=MarketContext)
