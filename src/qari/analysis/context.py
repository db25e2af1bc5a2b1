"""Per-snapshot analysis context: closed-candle windows per timeframe and features shared by layers.

Everything is computed lazily once per `analyse()` call, so layers that share a primitive (pivots,
structure, ATR, SFPs, order blocks) pay for it once. Windows are cut at `at_ms` (a candle counts only
if it has closed by then) and then to a fixed length, which bounds the cost per call regardless of
how much history the caller passes — and makes look-ahead impossible by construction.

A window's pivots, structure and volume median are read from `analysis.features.History`, where each is
defined once: of the whole series when the caller keeps them (`Histories`: the backtest asks about
the same series at every step), else of the window itself. Both give the window's exact values.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from functools import cached_property

import numpy as np

from qari.analysis.features import ATR_PERIOD, Histories, History, atr_or_floor
from qari.analysis.primitives import indicators, swings
from qari.analysis.primitives.gaps import Fvg, bullish_fvgs
from qari.analysis.primitives.liquidity import Sfp, find_sfps
from qari.analysis.primitives.order_blocks import OrderBlock, find_order_blocks
from qari.analysis.primitives.resample import resample
from qari.analysis.primitives.structure import Structure
from qari.core.market import CandleSeries, MarketContext, MarketSnapshot
from qari.core.time import timeframe_ms

WINDOWS = {"15m": 320, "1h": 320, "4h": 200, "1d": 200}
PIVOT_K = {"15m": 3, "1h": 3, "4h": 2, "1d": 2}
ENTRY_TIMEFRAMES = ("15m", "1h")
ENTRY_MIN_CANDLES = 30  # fewer closed entry candles: no entry frame, every entry layer abstains
HTF_MIN_CANDLES = 12
ENTRY_SFP_CANDLES = 3  # SFPs count on the last this many entry candles ...
H4_SFP_CANDLES = 1  # ... and on the last closed 4h candle


def closed_count(series: CandleSeries, at_ms: int) -> int:
    """How many of the candles have closed by `at_ms` (close time = open + timeframe)."""
    return int(np.searchsorted(series.ts, at_ms - timeframe_ms(series.timeframe), side="right"))


def closed_window(series: CandleSeries, at_ms: int, window: int | None = None) -> CandleSeries:
    """The candles closed by `at_ms`, the last `window` of them."""
    n = closed_count(series, at_ms)
    start = 0 if window is None else max(0, n - window)
    return series.window(start, n)


class Frame:
    """One timeframe's closed window plus its derived features. `history`: a `History` of the series the
    window was cut from (with the window's length), and `end`, the window's end in it; without one, the
    features come from a `History` of the window alone."""

    def __init__(self, series: CandleSeries, history: History | None = None, end: int | None = None) -> None:
        self.series = series
        self.timeframe = series.timeframe
        self.ts = series.ts
        self.open = series.open
        self.high = series.high
        self.low = series.low
        self.close = series.close
        self.volume = series.volume
        self.n = len(series)
        self.k = PIVOT_K.get(series.timeframe, swings.DEFAULT_K)
        self._history = history
        self.end = self.n if end is None else end
        self._sfps: dict[int, list[Sfp]] = {}

    @property
    def last(self) -> float:
        return float(self.close[-1])

    @cached_property
    def history(self) -> History:
        return self._history if self._history is not None else History(self.series, max(self.n, 1), self.k)

    @cached_property
    def pivots(self) -> swings.Pivots:
        return self.history.window_pivots(self.end)

    @cached_property
    def structure(self) -> Structure:
        return self.history.window_structure(self.end, self.pivots)

    @cached_property
    def atr_series(self) -> np.ndarray:
        """The window's own SMA of true ranges: its sums start at the window's first candle, so they
        differ from the history's (`History.atr_series`) in rounding."""
        return indicators.atr(self.high, self.low, self.close, ATR_PERIOD)

    @cached_property
    def atr(self) -> float:
        return float(atr_or_floor(float(self.atr_series[-1]) if self.n else 0.0, self.last))

    @cached_property
    def volume_median(self) -> float:
        return self.history.median_at(self.end)

    def sfps(self, lookback: int) -> list[Sfp]:
        """SFPs on the last `lookback` candles; kept with the frame, so a shared higher-timeframe frame
        finds them once for every symbol and cycle that reads it."""
        found = self._sfps.get(lookback)
        if found is None:
            p = self.pivots
            found = self._sfps[lookback] = find_sfps(
                self.high,
                self.low,
                self.close,
                self.volume,
                (p.high_idx, p.high_px),
                (p.low_idx, p.low_px),
                self.k,
                self.atr,
                self.volume_median,
                lookback=lookback,
                timeframe=self.timeframe,
            )
        return found


def _source_for(source: CandleSeries, at_ms: int, tf: str, window: int) -> CandleSeries:
    """Just enough closed lower-timeframe candles for `window` resampled ones, cut at a bucket boundary."""
    closed = closed_window(source, at_ms, None)
    ratio = timeframe_ms(tf) // timeframe_ms(source.timeframe)
    need = (window + 1) * ratio
    if len(closed) <= need:
        return closed
    bucket = timeframe_ms(tf)
    first = (int(closed.ts[len(closed) - need]) // bucket + 1) * bucket
    return closed.window(int(np.searchsorted(closed.ts, first, side="left")), len(closed))


HTF_CACHED = ("4h", "1d")
HTF_CACHE_SIZE = 512
_htf_frames: OrderedDict[tuple[object, ...], Frame] = OrderedDict()


def _window_key(w: CandleSeries) -> tuple[object, ...]:
    """The window's full content, so a cached frame can only be returned for identical candles."""
    return (
        w.symbol,
        w.timeframe,
        w.ts.tobytes(),
        w.open.tobytes(),
        w.high.tobytes(),
        w.low.tobytes(),
        w.close.tobytes(),
        w.volume.tobytes(),
    )


def _shared_frame(w: CandleSeries, history: History | None = None, end: int | None = None) -> Frame:
    """Higher-timeframe frames change once per 4h/1d close but are read at every 5m/15m cycle, by
    every symbol (BTC's) and by both live and backtest: reuse the frame, with its computed features,
    while the closed candles are the same. Keyed by content, so the result is identical to a new one."""
    key = _window_key(w)
    frame = _htf_frames.get(key)
    if frame is None:
        frame = _htf_frames[key] = Frame(w, history, end)
        if len(_htf_frames) > HTF_CACHE_SIZE:
            _htf_frames.popitem(last=False)
    else:
        _htf_frames.move_to_end(key)
    return frame


def _frame(
    series: Mapping[str, CandleSeries], tf: str, at_ms: int, min_len: int, histories: Histories | None = None
) -> Frame | None:
    window = WINDOWS.get(tf, 300)
    s = series.get(tf)
    kept = histories
    if s is None:
        source = series.get("1h", series.get("15m"))
        if source is None or tf not in ("4h", "1d"):
            return None
        s = resample(_source_for(source, at_ms, tf, window), tf)
        kept = None  # a new series at every step: nothing to keep
    n = closed_count(s, at_ms)
    w = s.window(max(0, n - window), n)
    if len(w) < min_len:
        return None
    history, end = (
        (None, None) if kept is None else (kept.of(s, window, PIVOT_K.get(tf, swings.DEFAULT_K)), n)
    )
    return _shared_frame(w, history, end) if tf in HTF_CACHED else Frame(w, history, end)


BtcFrames = tuple[Frame | None, Frame | None]


def btc_frames_for(
    btc: Mapping[str, CandleSeries] | None, at_ms: int, histories: Histories | None = None
) -> BtcFrames:
    """BTC's 4h and 1d frames as of `at_ms` (shared by every altcoin analysed at that time)."""
    if not btc:
        return (None, None)
    return (
        _frame(btc, "4h", at_ms, HTF_MIN_CANDLES, histories),
        _frame(btc, "1d", at_ms, HTF_MIN_CANDLES, histories),
    )


def _dominance_upto(context: MarketContext, at_ms: int) -> np.ndarray | None:
    """Daily dominance values whose day has closed by `at_ms` (all of them when no times are given)."""
    values = context.btc_dominance
    if values is None or context.btc_dominance_ts is None:
        return values
    n = int(np.searchsorted(context.btc_dominance_ts, at_ms - 86_400_000, side="right"))
    return values[:n]


class AnalysisContext:
    """What a layer reads: the snapshot, frames per timeframe and shared, lazily computed features.
    `histories`: whole-series features kept by a caller that analyses the same series again and again."""

    def __init__(
        self,
        snapshot: MarketSnapshot,
        btc_frames: BtcFrames | None = None,
        histories: Histories | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.symbol = snapshot.symbol
        self.at_ms = snapshot.at_ms
        self.context = snapshot.context
        entry_tf = next((tf for tf in ENTRY_TIMEFRAMES if tf in snapshot.series), None)
        self.entry_tf = entry_tf or "15m"
        series = snapshot.series
        self.entry = _frame(series, entry_tf, self.at_ms, ENTRY_MIN_CANDLES, histories) if entry_tf else None
        self.h4 = _frame(series, "4h", self.at_ms, HTF_MIN_CANDLES, histories)
        self.d1 = _frame(series, "1d", self.at_ms, HTF_MIN_CANDLES, histories)
        self.btc_dominance = _dominance_upto(snapshot.context, self.at_ms)
        btc = snapshot.context.btc
        self.is_btc = snapshot.symbol.split("/")[0] == "BTC"
        if self.is_btc:
            btc = snapshot.series
        if btc_frames is not None and not self.is_btc:
            self.btc_h4, self.btc_d1 = btc_frames
        else:
            self.btc_h4, self.btc_d1 = btc_frames_for(btc, self.at_ms, histories)

    def frames(self) -> dict[str, Frame]:
        out: dict[str, Frame] = {}
        for tf, fr in ((self.entry_tf, self.entry), ("4h", self.h4), ("1d", self.d1)):
            if fr is not None:
                out[tf] = fr
        return out

    @cached_property
    def htf_bearish(self) -> bool:
        """Daily and 4h structure both bearish: the veto of layer 1."""
        return (
            self.h4 is not None
            and self.d1 is not None
            and self.h4.structure.state == "BEARISH"
            and self.d1.structure.state == "BEARISH"
        )

    @cached_property
    def sfps(self) -> list[Sfp]:
        """SFPs on the last 3 entry-timeframe candles and on the last closed 4h candle."""
        out: list[Sfp] = []
        for fr, lookback in ((self.entry, ENTRY_SFP_CANDLES), (self.h4, H4_SFP_CANDLES)):
            if fr is not None:
                out += fr.sfps(lookback)
        return out

    @cached_property
    def bullish_sfp(self) -> Sfp | None:
        bulls = [s for s in self.sfps if s.direction == "bullish"]
        return max(bulls, key=lambda s: (s.quality, -s.bars_ago)) if bulls else None

    @cached_property
    def htf_aligned(self) -> bool:
        return self.h4 is not None and self.h4.structure.state == "BULLISH"

    @cached_property
    def order_blocks(self) -> list[OrderBlock]:
        fr = self.entry
        if fr is None:
            return []
        breaks = [b.index for b in fr.structure.breaks if b.direction == "bullish"][-8:]
        return find_order_blocks(
            fr.open, fr.high, fr.low, fr.close, fr.volume, fr.atr, fr.volume_median, breaks, self.htf_aligned
        )

    @cached_property
    def fvgs(self) -> list[Fvg]:
        fr = self.entry
        if fr is None:
            return []
        return bullish_fvgs(
            fr.open, fr.high, fr.low, fr.close, fr.volume, fr.atr_series, fr.volume_median, self.htf_aligned
        )


def read_windows(series: Mapping[str, CandleSeries], at_ms: int) -> dict[str, CandleSeries]:
    """Per timeframe, the closed candles the analysis may read as of `at_ms` (its window, and where a
    4h/1d series is missing, enough of the source it is resampled from): analysing a snapshot cut to
    these gives the same verdict, so a decision record stores just these."""
    source = "1h" if "1h" in series else "15m"
    out: dict[str, CandleSeries] = {}
    for tf, s in series.items():
        need = WINDOWS.get(tf, 300)
        if tf == source:
            for htf in HTF_CACHED:
                if htf not in series:
                    # `_source_for` keeps (window + 1) * ratio candles and cuts at a bucket start
                    # chosen from the one before them: one more keeps that choice the same.
                    ratio = timeframe_ms(htf) // timeframe_ms(tf)
                    need = max(need, (WINDOWS.get(htf, 300) + 1) * ratio + 1)
        out[tf] = closed_window(s, at_ms, need)
    return out
