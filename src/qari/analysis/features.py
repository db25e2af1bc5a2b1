"""Per-candle features over a whole history, computed once: what every window of that history holds.

`AnalysisContext` cuts a window per step: the last W closed candles, [s, n) with s = max(0, n - W),
where n is the number of closed candles. `History` answers the same questions for every window end
n = 0..N at once, as arrays indexed by n: pivots, structure breaks and the trend state, true ranges
and the ATR, the volume median, volume and price-volume sums, SFP candles, order-block candles and
fair value gaps. A layer's `bound` (beside its `evaluate`) reads them at the steps it is asked about,
and `analysis.sweep` indexes the same arrays for every layer, so a rule lives in its layer's file only.

Pivots are local (k bars either side), so a window's pivots are the history's pivots inside
[s + k, n - 1 - k]; a window's structure breaks are the history's first crosses whose reference pivot
lies in the window. Both are therefore exact here, as are the order blocks' and SFPs' candles. Sums
differ from a window's in rounding only: each comes with a flag saying where that rounding is small
enough to be trusted (`bounds.TRUSTED`).

The per-step analysis reads one window the same way (`window_pivots`, `window_structure`,
`median_at`): its `Frame` holds a `History` of the whole series where the caller keeps one
(`Histories`, the backtest), else of the window alone, and gets the window's exact values either way.
The structure rules (`swing_pattern`, `trend_state`) serve one window and every window alike. A
window's ATR stays its own SMA (`Frame.atr_series`): its sums start at the window's first candle.

Pure: arrays in, arrays out; no I/O. About 650 lines on purpose: one `History` holds every feature
because they share its indexing (window ends, pivot positions per window) and its cached sums; split,
each part would rebuild or pass those around.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from qari.analysis.bounds import TRUSTED, BoolArray, at_least
from qari.analysis.primitives import gaps, indicators, swings
from qari.analysis.primitives.liquidity import MIN_CANDLE_RANGE, sfp_quality
from qari.analysis.primitives.order_blocks import SEARCH_BACK
from qari.analysis.primitives.structure import BEARISH, BULLISH, RANGE, Break, Structure, first_crosses
from qari.core.market import CandleSeries, FloatArray, IntArray
from qari.core.time import timeframe_ms

__all__ = [
    "ATR_FLOOR",
    "ATR_FLOOR_OF_PRICE",
    "ATR_PERIOD",
    "MEDIAN_VOLUME_CANDLES",
    "STATE_BEAR",
    "STATE_BULL",
    "STATE_NONE",
    "STATE_RANGE",
    "BlockWindows",
    "GapWindows",
    "Histories",
    "History",
    "PrefixSums",
    "atr_or_floor",
    "closed_counts",
    "first_after",
    "range_max",
    "structure_of",
]

ATR_PERIOD = 14  # `Frame.atr_series`: the SMA of this many true ranges
MEDIAN_VOLUME_CANDLES = 100  # `Frame.volume_median`: the median of this many last volumes
ATR_FLOOR_OF_PRICE = 1e-4  # `Frame.atr` when the last ranges are all zero: this share of the price ...
ATR_FLOOR = 1e-12  # ... and never less than this
STATE_NONE, STATE_RANGE, STATE_BULL, STATE_BEAR = range(4)  # a window's trend state (None: no frame)
STATE_NAMES = {STATE_RANGE: RANGE, STATE_BULL: BULLISH, STATE_BEAR: BEARISH}
StateArray = npt.NDArray[np.int8]


def swing_pattern(last_high: Any, prev_high: Any, last_low: Any, prev_low: Any) -> Any:
    """The last two swing highs and lows: higher high and higher low bullish, lower high and lower low
    bearish, else a range. Floats or arrays alike (a STATE_*: RANGE + 1 if bullish + 2 if bearish)."""
    bullish = (last_high > prev_high) & (last_low > prev_low)
    bearish = (last_high < prev_high) & (last_low < prev_low)
    return STATE_RANGE + 1 * bullish + 2 * bearish


def trend_state(pattern: Any, last_bullish: Any, last_choch: Any, last_bar: Any, confirmed: Any) -> Any:
    """The trend: the swing pattern, unless the last break is a change of character on a candle after
    the last confirmed pivot (`confirmed`, -1 for none): then that break's direction (BEAR, or BULL
    one below it). Scalars or arrays alike."""
    flip = last_choch & (last_bar > confirmed)
    return pattern + flip * (STATE_BEAR - 1 * last_bullish - pattern)


def atr_or_floor(raw: npt.ArrayLike, last_close: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The ATR, or where the last ranges are all zero a floor from the price (floats or arrays)."""
    raw, last_close = np.asarray(raw), np.asarray(last_close)
    return np.where(raw > 0.0, raw, np.maximum(np.abs(last_close) * ATR_FLOOR_OF_PRICE, ATR_FLOOR))


class PrefixSums:
    """Sums of x[a:b] for many (a, b) at once from one long-double prefix sum, with a trust flag: the
    prefix's rounding error relative to the sum stays below `TRUSTED` (x is non-negative)."""

    def __init__(self, x: FloatArray) -> None:
        self.prefix = np.concatenate(([0.0], np.cumsum(x, dtype=np.longdouble)))
        self.tolerance = 4.0 * (x.shape[0] + 1) * float(np.finfo(np.longdouble).eps)

    def __call__(self, a: IntArray, b: IntArray) -> tuple[FloatArray, BoolArray]:
        top = self.prefix[b]
        total = (top - self.prefix[a]).astype(np.float64)
        error = self.tolerance * top.astype(np.float64)
        return total, (error <= TRUSTED * total) | (error == 0.0)


def closed_counts(series: CandleSeries, times: IntArray) -> IntArray:
    """How many of the series' candles have closed at each time (`closed_window`'s n)."""
    return np.searchsorted(series.ts, times - timeframe_ms(series.timeframe), side="right")


def first_after(
    x: FloatArray, starts: IntArray, levels: FloatArray, below: bool, span: int, inclusive: bool = False
) -> IntArray:
    """For each i: the first index j > starts[i], within `span`, with x[j] < levels[i] (or > when not
    `below`; <= / >= with `inclusive`); len(x) when there is none within reach."""
    size = x.shape[0]
    out = np.full(starts.shape[0], size, dtype=np.int64)
    for i, (start, level) in enumerate(zip(starts.tolist(), levels.tolist(), strict=True)):
        ahead = x[start + 1 : min(size, start + 1 + span)]
        if below:
            hit = ahead <= level if inclusive else ahead < level
        else:
            hit = ahead >= level if inclusive else ahead > level
        first = int(hit.argmax()) if ahead.shape[0] else 0
        if ahead.shape[0] and hit[first]:
            out[i] = start + 1 + first
    return out


def range_max(x: FloatArray, lo: IntArray, hi: IntArray) -> FloatArray:
    """max(x[lo:hi]) for each pair (lo < hi), from a sparse table."""
    maxima_of_width = [x]  # [i][j]: the max of x[j : j + 2**i]
    width = 1
    while 2 * width <= x.shape[0]:
        narrower = maxima_of_width[-1]
        maxima_of_width.append(np.maximum(narrower[:-width], narrower[width:]))
        width *= 2
    length = hi - lo
    power = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)  # two spans of 2**power cover it
    out = np.empty(lo.shape[0])
    for exponent in np.unique(power).tolist():
        pick = power == exponent
        maxima = maxima_of_width[exponent]
        out[pick] = np.maximum(maxima[lo[pick]], maxima[hi[pick] - (1 << exponent)])
    return out


def expand_ranges(starts: IntArray, stops: IntArray) -> tuple[IntArray, IntArray]:
    """All (item, n) with starts[item] <= n <= stops[item], as two flat arrays."""
    lengths = np.maximum(stops - starts + 1, 0)
    item = np.repeat(np.arange(starts.shape[0]), lengths)
    offsets = np.arange(item.shape[0]) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return item, starts[item] + offsets


@dataclasses.dataclass(frozen=True, slots=True)
class WindowStructure:
    """Per window end n: the trend state (STATE_*) and the swing pattern it starts from, and the
    window's last break: its candle, whether it is bullish, whether it is a change of character (-1 /
    False where the window has none)."""

    state: StateArray
    pattern: StateArray
    last_break_bar: IntArray
    last_break_bullish: BoolArray
    last_break_choch: BoolArray


@dataclasses.dataclass(frozen=True, slots=True)
class BlockWindows:
    """Every (bullish order block, window end) where the block is one of the window's and alive: its
    zone against the window's last close and ATR. One row per pair; `window_end` says which window."""

    window_end: IntArray
    zone_low: FloatArray
    zone_high: FloatArray
    price: FloatArray  # the window's last close
    atr_trusted: BoolArray
    displacement_atr: FloatArray  # the impulse's top above the zone, in ATR
    volume_ratio: FloatArray  # the impulse's mean volume against the window's median
    has_gap: BoolArray  # a gap inside the impulse
    distance_atr: FloatArray  # price above the zone's top, in ATR (0 inside the zone)
    width_atr: FloatArray  # the zone's height, in ATR
    mitigated: BoolArray  # price traded back into the zone since the break


@dataclasses.dataclass(frozen=True, slots=True)
class GapWindows:
    """Every (unfilled recent bullish FVG with a bullish middle candle, window end): its zone, whether
    the middle candle may be impulsive, and the window's last close and ATR."""

    window_end: IntArray
    gap_low: FloatArray
    gap_high: FloatArray
    may_be_impulsive: BoolArray
    middle_volume: FloatArray
    price: FloatArray
    atr: FloatArray
    atr_trusted: BoolArray
    median_volume: FloatArray


class History:
    """One timeframe's candles with its window length and pivot k: every window's features, by n."""

    def __init__(self, series: CandleSeries, window: int, k: int) -> None:
        self.ts = series.ts
        self.open_, self.high, self.low, self.close, self.volume = (
            series.open,
            series.high,
            series.low,
            series.close,
            series.volume,
        )
        self.size = len(series)
        self.window = window
        self.k = k
        self.window_end = np.arange(self.size + 1)  # n: the window of the first n candles' last W
        self.window_start = np.maximum(self.window_end - window, 0)
        self.pivots = swings.find_pivots(self.high, self.low, k)
        self._sfps: dict[int, tuple[FloatArray, BoolArray]] = {}

    def _window_positions(self, idx: IntArray, n: Any) -> tuple[Any, Any]:
        """Positions [first, last] into `idx` of the pivots inside window(s) n: [s + k, n - 1 - k]."""
        first = np.searchsorted(idx, self.window_start[n] + self.k, side="left")
        last = np.searchsorted(idx, n - 1 - self.k, side="right") - 1
        return first, last

    @cached_property
    def _high_positions(self) -> tuple[IntArray, IntArray]:
        return self._window_positions(self.pivots.high_idx, self.window_end)

    @cached_property
    def _low_positions(self) -> tuple[IntArray, IntArray]:
        return self._window_positions(self.pivots.low_idx, self.window_end)

    @property
    def high_pos_first(self) -> IntArray:
        """Per n: the position in `pivots.high_idx` of the window's first swing high (`_last`: its last)."""
        return self._high_positions[0]

    @property
    def high_pos_last(self) -> IntArray:
        return self._high_positions[1]

    @property
    def low_pos_first(self) -> IntArray:
        """Per n: the position in `pivots.low_idx` of the window's first swing low (`_last`: its last)."""
        return self._low_positions[0]

    @property
    def low_pos_last(self) -> IntArray:
        return self._low_positions[1]

    def last_close(self, n: IntArray) -> FloatArray:
        """The window's last close (the first candle's where a window is empty)."""
        return self.close[np.maximum(n - 1, 0)]

    @cached_property
    def volume_sums(self) -> PrefixSums:
        return PrefixSums(self.volume)

    @cached_property
    def up_volume_sums(self) -> PrefixSums:
        """Volume of candles closing at or above their open."""
        return PrefixSums(np.where(self.close >= self.open_, self.volume, 0.0))

    @cached_property
    def down_volume_sums(self) -> PrefixSums:
        """Volume of candles closing below their open."""
        return PrefixSums(np.where(self.close < self.open_, self.volume, 0.0))

    @cached_property
    def price_volume_sums(self) -> PrefixSums:
        """Typical price (high + low + close) / 3 times volume: a VWAP's numerator."""
        typical = (self.high + self.low + self.close) / 3.0
        return PrefixSums(typical * self.volume)

    @cached_property
    def last_low_pivot(self) -> IntArray:
        """The window's latest swing-low candle, or -1."""
        return self._latest(self.pivots.low_idx, self.low_pos_first, self.low_pos_last)

    @cached_property
    def last_high_pivot(self) -> IntArray:
        """The window's latest swing-high candle, or -1."""
        return self._latest(self.pivots.high_idx, self.high_pos_first, self.high_pos_last)

    def _latest(self, idx: IntArray, first: IntArray, last: IntArray) -> IntArray:
        if idx.shape[0] == 0:
            return np.full(self.size + 1, -1, dtype=np.int64)
        return np.where(last >= first, idx[np.clip(last, 0, idx.shape[0] - 1)], -1)

    def count_below_last(self, n: IntArray, span: IntArray, longest: int) -> IntArray:
        """How many of the `span - 1` volumes before the last one of window n are below it (`span` is
        at most `longest`)."""
        volume = self.volume
        out = np.zeros(n.shape[0], dtype=np.int64)
        full = span == longest
        if full.any() and longest <= self.size:
            rows = sliding_window_view(volume, longest)[n[full] - longest]
            out[full] = np.count_nonzero(rows[:, :-1] < rows[:, -1:], axis=1)
        for i in np.flatnonzero(~full & (span > 0)).tolist():
            window = volume[n[i] - span[i] : n[i]]
            out[i] = np.count_nonzero(window[:-1] < window[-1])
        return out

    def window_ema(self, x: FloatArray, n: IntArray, alpha: float, span: int, seeded: bool) -> FloatArray:
        """The EMA of x over the window's last `span` values, at its end, for every n: seeded with the
        slice's first value (or, `seeded=False`, with 0: the first price move of a slice is none)."""
        out = np.zeros(n.shape[0])
        length = np.minimum(np.minimum(n, self.window), span)
        full = length == span
        d = 1.0 - alpha
        if full.any():
            weights = alpha * d ** np.arange(span - 1, -1, -1, dtype=np.float64)
            weights[0] = d ** (span - 1) if seeded else 0.0
            ends = np.convolve(x, weights[::-1], mode="valid")  # ends[i]: the window x[i : i + span]
            out[full] = ends[n[full] - span]
        for i in np.flatnonzero(~full & (length > 0)).tolist():
            part = x[n[i] - length[i] : n[i]].copy()
            if not seeded:
                part[0] = 0.0
            out[i] = indicators.ema(part, alpha=alpha)[-1]
        return out

    # ---- market structure, exact

    @cached_property
    def bullish_breaks(self) -> tuple[IntArray, FloatArray, IntArray]:
        """The history's first closes above each swing high (structure's and order blocks' breaks)."""
        p = self.pivots
        return first_crosses(p.high_idx, p.high_px, self.close, self.k, True)

    @cached_property
    def bearish_breaks(self) -> tuple[IntArray, FloatArray, IntArray]:
        """The history's first closes below each swing low."""
        p = self.pivots
        return first_crosses(p.low_idx, p.low_px, self.close, self.k, False)

    @cached_property
    def breaks(self) -> tuple[IntArray, BoolArray, FloatArray, IntArray]:
        """Both directions' breaks in a window's order (by candle, a bearish one first): their candles,
        whether bullish, levels and reference pivots. A window's breaks are those whose pivot it holds."""
        up, down = self.bullish_breaks, self.bearish_breaks
        bars, levels, refs = (np.concatenate((u, d)) for u, d in zip(up, down, strict=True))
        bullish = np.arange(bars.shape[0]) < up[0].shape[0]
        order = np.lexsort((bullish, bars))
        return bars[order], bullish[order], levels[order], refs[order]

    @property
    def state(self) -> StateArray:
        """Per n: the window's trend state."""
        return self.structure.state

    @cached_property
    def structure(self) -> WindowStructure:
        """Per n: the window's trend state and last break. The state is the pattern of its last two
        swing highs and lows (HH+HL bullish, LH+LL bearish, else a range), unless its last break is a
        change of character after its last confirmed pivot: then that break's direction."""
        k, size = self.k, self.size
        bars, bullish, _, refs = self.breaks
        pattern = self._pattern()
        if bars.shape[0] == 0:
            none = np.zeros(size + 1, dtype=bool)
            return WindowStructure(pattern, pattern, np.full(size + 1, -1, dtype=np.int64), none, none)
        last = np.full(size + 1, -1, dtype=np.int64)
        prev = np.full(size + 1, -1, dtype=np.int64)
        # an event is one of window n's breaks for n in (bar, ref + W - k]: its pivot is in the window
        for i, (bar, ref) in enumerate(zip(bars.tolist(), refs.tolist(), strict=True)):
            lo, hi = bar + 1, min(ref + self.window - k, size)
            if lo <= hi:
                prev[lo : hi + 1] = last[lo : hi + 1]
                last[lo : hi + 1] = i
        has = last >= 0
        last_i, prev_i = np.maximum(last, 0), np.maximum(prev, 0)
        last_bullish = has & bullish[last_i]
        last_bar = np.where(has, bars[last_i], -1)
        choch = has & (prev >= 0) & (bullish[prev_i] != bullish[last_i])
        latest_high, latest_low = self.last_high_pivot, self.last_low_pivot
        confirmed = np.maximum(
            np.where(latest_high >= 0, latest_high + k, -1), np.where(latest_low >= 0, latest_low + k, -1)
        )
        state = trend_state(pattern, last_bullish, choch, last_bar, confirmed).astype(np.int8)
        return WindowStructure(state, pattern, last_bar, last_bullish, choch)

    # ---- one window, as the per-step analysis reads it (indices from the window's first candle)

    def window_pivots(self, n: int) -> swings.Pivots:
        """Window n's pivots: `find_pivots` of its candles."""
        start, p = int(self.window_start[n]), self.pivots
        (high_first, high_last), (low_first, low_last) = (
            self._window_positions(idx, n) for idx in (p.high_idx, p.low_idx)
        )
        highs = slice(int(high_first), max(int(high_last) + 1, 0))
        lows = slice(int(low_first), max(int(low_last) + 1, 0))
        return swings.Pivots(
            self.k, p.high_idx[highs] - start, p.high_px[highs], p.low_idx[lows] - start, p.low_px[lows]
        )

    def window_structure(self, n: int, pivots: swings.Pivots | None = None) -> Structure:
        """Window n's structure: its breaks (a break against the one before it in the window is a change
        of character, else a break of structure), pattern and state (`structure`'s, for this n alone).
        `pivots`: `window_pivots(n)`."""
        start, k = int(self.window_start[n]), self.k
        bars, bullish, levels, refs = self.breaks
        # a break's pivot lies at or after start + k, so the break itself after start + 2k
        lo = int(np.searchsorted(bars, start + 2 * k, side="right"))
        hi = int(np.searchsorted(bars, n, side="left"))
        mine = lo + np.flatnonzero(refs[lo:hi] >= start + k)
        breaks: list[Break] = []
        previous: bool | None = None
        for bar, up, level, ref in zip(
            bars[mine].tolist(),
            bullish[mine].tolist(),
            levels[mine].tolist(),
            refs[mine].tolist(),
            strict=True,
        ):
            kind = "CHoCH" if previous is not None and previous != up else "BOS"
            breaks.append(Break(bar - start, "bullish" if up else "bearish", kind, level, ref - start))
            previous = up
        p = pivots if pivots is not None else self.window_pivots(n)
        two = p.high_px.shape[0] >= 2 and p.low_px.shape[0] >= 2
        pattern = STATE_RANGE
        if two:
            (prev_high, last_high), (prev_low, last_low) = p.high_px[-2:].tolist(), p.low_px[-2:].tolist()
            pattern = swing_pattern(last_high, prev_high, last_low, prev_low)
        state = pattern
        if breaks:
            last = breaks[-1]
            confirmed = max(int(x[-1]) + k if x.shape[0] else -1 for x in (p.high_idx, p.low_idx))
            state = trend_state(
                pattern, last.direction == "bullish", last.kind == "CHoCH", last.index, confirmed
            )
        return Structure(STATE_NAMES[int(state)], STATE_NAMES[int(pattern)], tuple(breaks), p)

    def _pattern(self) -> StateArray:
        """Per n: `swing_pattern` of the window's pivots (a range without two highs and two lows)."""
        p = self.pivots
        two = (self.high_pos_last - self.high_pos_first >= 1) & (self.low_pos_last - self.low_pos_first >= 1)
        out = np.full(self.size + 1, STATE_RANGE, dtype=np.int8)
        if two.any():
            hi, lo = self.high_pos_last[two], self.low_pos_last[two]
            out[two] = swing_pattern(p.high_px[hi], p.high_px[hi - 1], p.low_px[lo], p.low_px[lo - 1]).astype(
                np.int8
            )
        return out

    # ---- true range, ATR and the volume median per window

    @cached_property
    def true_range(self) -> FloatArray:
        return indicators.true_range(self.high, self.low, self.close)

    @cached_property
    def atr_series(self) -> FloatArray:
        """The SMA(14) of true range at each candle as a window's `Frame.atr_series` shows it: exactly
        these sums in windows that start at 0, within rounding 14 or more candles after a window's start
        (the only places read here). Rolling sums: no error carried over from the history's start."""
        tr = self.true_range
        span = ATR_PERIOD
        out = np.cumsum(tr[:span]) / np.arange(1, min(span, tr.shape[0]) + 1)
        if tr.shape[0] > span:
            out = np.concatenate((out[: span - 1], sliding_window_view(tr, span).sum(axis=1) / span))
        return out

    @cached_property
    def window_range(self) -> FloatArray:
        """Per n: the sum of the window's true ranges (an upper bound), which scales a window's own
        rounding of its running sums."""
        return PrefixSums(self.true_range)(self.window_start, self.window_end)[0]

    def trusted_atr(self, atr: FloatArray, n: IntArray) -> BoolArray:
        """Where an SMA(14) value is within EPS of a window n's own (a difference of its running sums,
        whose rounding grows with the window's total range): the 14 ranges are not tiny against it."""
        return atr * ATR_PERIOD >= 2e-5 * self.window_range[n]

    @cached_property
    def atr(self) -> FloatArray:
        """Per n: the window's ATR (`Frame.atr`, with its fallback when the last ranges are all zero)."""
        return atr_or_floor(self._raw_atr, np.concatenate(([0.0], self.close)))

    @cached_property
    def atr_trusted(self) -> BoolArray:
        """Per n: whether `atr` is within EPS of the window's own value."""
        raw = self._raw_atr
        ends = self.window_end
        return self.trusted_atr(raw, ends) | (ends <= ATR_PERIOD) | (raw == 0.0)

    @cached_property
    def _raw_atr(self) -> FloatArray:
        return np.concatenate(([0.0], self.atr_series))

    def median_at(self, n: int) -> float:
        """`Frame.volume_median`: the median of window n's last 100 volumes (0 for no candle)."""
        start = max(n - MEDIAN_VOLUME_CANDLES, int(self.window_start[n]))
        return indicators.median(self.volume[start:n]) if n else 0.0

    @cached_property
    def median(self) -> FloatArray:
        """Per n: `median_at(n)` (the windows are at least 100 long; the same values, bit for bit)."""
        span = MEDIAN_VOLUME_CANDLES
        out = np.zeros(self.size + 1)
        for n in range(1, min(self.size, span - 1) + 1):
            out[n] = self.median_at(n)
        if span <= self.size:
            out[span:] = np.median(sliding_window_view(self.volume, span), axis=1)
        return out

    def volume_ratio(self, volume: FloatArray, n: IntArray) -> FloatArray:
        """`volume` against window n's median (1 where the median is 0), as `Frame` users divide."""
        median = self.median[n]
        return np.where(median > 0, volume / np.where(median > 0, median, 1.0), 1.0)

    # ---- SFP candles

    def sfps(self, lookback: int) -> tuple[FloatArray, BoolArray]:
        """Per n: a bound on the best bullish SFP quality on the window's last `lookback` candles (-1:
        none), and whether any bullish SFP exists there (`Frame.sfps`).

        A swing low p can only be swept-and-reclaimed by its first sweep candle j (the first later low
        under it); it counts in window n if confirmed before j (p + k < j), reclaimed (close[j] above
        it), j is one of the last `lookback` candles and p lies in the window. The SFP's level is the
        lowest such pivot of the window, whose depth sets the quality."""
        found_before = self._sfps.get(lookback)
        if found_before is not None:
            return found_before
        k, window, size = self.k, self.window, self.size
        pivot, pivot_low = self.pivots.low_idx, self.pivots.low_px
        sweep = first_after(self.low, pivot, pivot_low, below=True, span=window + lookback)
        reclaimed = (sweep < size) & (sweep > pivot + k)
        reclaimed[reclaimed] &= self.close[sweep[reclaimed]] > pivot_low[reclaimed]
        pivot, pivot_low, sweep = pivot[reclaimed], pivot_low[reclaimed], sweep[reclaimed]
        # [n, ago]: the lowest level swept-and-reclaimed by window n's candle `ago + 1` from its end
        level = np.full((size + 1, lookback), np.inf)
        for candles_after in range(1, lookback + 1):
            n = sweep + candles_after
            valid = (n <= size) & ((n <= window) | (pivot >= n - window + k))
            np.minimum.at(level[:, candles_after - 1], n[valid], pivot_low[valid])
        found = np.isfinite(level)
        quality = np.full((size + 1, lookback), -1.0)
        ends, ago = np.nonzero(found)
        if ends.shape[0]:
            candle = ends - ago - 1
            wick_low, candle_high, candle_close = self.low[candle], self.high[candle], self.close[candle]
            atr, trusted = self.atr[ends], self.atr_trusted[ends]
            depth_atr = (level[ends, ago] - wick_low) / atr
            reaction = (candle_close - wick_low) / np.maximum(candle_high - wick_low, MIN_CANDLE_RANGE)
            ratio = self.volume_ratio(self.volume[candle], ends)
            exact = sfp_quality(depth_atr, reaction, ratio, lo=np.minimum, hi=np.maximum)
            quality[ends, ago] = np.where(trusted, exact, 100.0)
        result = self._sfps[lookback] = (quality.max(axis=1), found.any(axis=1))
        return result

    # ---- order-block candles and fair value gaps

    @cached_property
    def order_blocks(self) -> BlockWindows | None:
        """Every window's live bullish order blocks (`find_order_blocks`' candles): the last down candle
        within SEARCH_BACK before each break. Every break of a window counts, not only its last 8, and
        a candle two breaks share counts twice: more blocks, never fewer. None: no block anywhere."""
        high, low, close, volume = self.high, self.low, self.close, self.volume
        break_bar, _, ref = self.bullish_breaks
        if break_bar.shape[0] == 0:
            return None
        down = np.flatnonzero(close < self.open_)
        last_down = np.searchsorted(down, break_bar, side="right") - 1  # position in `down`
        block = np.where(last_down >= 0, down[np.maximum(last_down, 0)] if down.shape[0] else 0, -1)
        near = (last_down >= 0) & (block >= break_bar - SEARCH_BACK) & (block < break_bar)
        break_bar, ref, block = break_bar[near], ref[near], block[near]
        if break_bar.shape[0] == 0:
            return None
        zone_low, zone_high = low[block], high[block]
        impulses = list(zip(block.tolist(), break_bar.tolist(), strict=True))  # (block, break) candles
        top = np.array([high[b + 1 : z + 1].max() for b, z in impulses])
        volume_sum = np.array([volume[b + 1 : z + 1].sum() for b, z in impulses])
        has_gap = np.array(
            [z - b >= 2 and bool((low[b + 2 : z + 1] > high[b : z - 1]).any()) for b, z in impulses]
        )
        window = self.window
        negated = first_after(close, break_bar, zone_low, below=True, span=window)  # a close under the zone
        touched = first_after(low, break_bar, zone_high, below=True, span=window, inclusive=True)
        # window n holds the break (its pivot in the window) and the block candle; live until negated
        stop = np.minimum.reduce(
            [ref + window - self.k, block + window, negated, np.full_like(break_bar, self.size)]
        )
        item, ends = expand_ranges(break_bar + 1, stop)
        price = close[ends - 1]
        atr = self.atr[ends]
        row_low, row_high = zone_low[item], zone_high[item]
        return BlockWindows(
            window_end=ends,
            zone_low=row_low,
            zone_high=row_high,
            price=price,
            atr_trusted=self.atr_trusted[ends],
            displacement_atr=(top[item] - row_high) / atr,
            volume_ratio=self.volume_ratio(volume_sum[item] / (break_bar - block)[item], ends),
            has_gap=has_gap[item],
            distance_atr=np.maximum(price - row_high, 0.0) / atr,
            width_atr=(row_high - row_low) / atr,
            mitigated=touched[item] <= ends - 1,
        )

    @cached_property
    def gaps(self) -> GapWindows | None:
        """Every window's recent unfilled bullish FVGs (`bullish_fvgs`) whose middle candle is bullish,
        with whether that candle may be impulsive. None: the history is too short for one."""
        open_, high, low, close, size = self.open_, self.high, self.low, self.close, self.size
        if size < 3:
            return None
        third = np.arange(2, size)
        keep = (low[third] > high[third - 2]) & (close[third - 1] > open_[third - 1])
        third = third[keep]
        gap_low, gap_high = high[third - 2], low[third]
        filled = first_after(low, third, gap_low, below=True, span=gaps.RECENT, inclusive=True)
        item, ends = expand_ranges(third + 1, np.minimum(third + gaps.RECENT, np.minimum(filled, size)))
        middle = third[item] - 1
        atr_middle = self.atr_series[middle - 1]
        body = np.abs(close[middle] - open_[middle])
        impulsive = at_least(body, gaps.IMPULSE_ATR * atr_middle) | ~self.trusted_atr(atr_middle, ends)
        return GapWindows(
            window_end=ends,
            gap_low=gap_low[item],
            gap_high=gap_high[item],
            may_be_impulsive=impulsive,
            middle_volume=self.volume[middle],
            price=close[ends - 1],
            atr=self.atr[ends],
            atr_trusted=self.atr_trusted[ends],
            median_volume=self.median[ends],
        )


def structure_of(series: CandleSeries, k: int) -> Structure:
    """The market structure of these candles, read as one window."""
    return History(series, max(len(series), 1), k).window_structure(len(series))


class Histories:
    """Whole-series `History`s, built on first use and kept per series object: for a caller that
    analyses the same series at many times (the backtest), so each step slices features computed once
    instead of finding them again in its window. Keeping the series keeps its id from being reused."""

    def __init__(self) -> None:
        self._built: dict[tuple[int, int, int], tuple[CandleSeries, History]] = {}

    def of(self, series: CandleSeries, window: int, k: int) -> History:
        key = (id(series), window, k)
        found = self._built.get(key)
        if found is None or found[0] is not series:
            found = self._built[key] = (series, History(series, window, k))
        return found[1]
