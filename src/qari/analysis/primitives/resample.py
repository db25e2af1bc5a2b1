"""Build a higher timeframe from a lower one (e.g. 4h and 1d from 1h), keeping only complete candles."""

from __future__ import annotations

import numpy as np

from qari.core.market import CandleSeries
from qari.core.time import timeframe_ms


def resample(series: CandleSeries, timeframe: str) -> CandleSeries:
    """Aggregate into `timeframe` buckets aligned to the epoch; a trailing incomplete bucket is dropped."""
    src_ms = timeframe_ms(series.timeframe)
    dst_ms = timeframe_ms(timeframe)
    if dst_ms % src_ms != 0 or dst_ms < src_ms:
        raise ValueError(f"cannot resample {series.timeframe} into {timeframe}")
    if len(series) == 0:
        return CandleSeries(series.symbol, timeframe, *(a[:0] for a in _arrays(series)))
    bucket = (series.ts // dst_ms) * dst_ms
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    counts = np.diff(np.concatenate((starts, [len(series)])))
    ts = bucket[starts]
    out_open = series.open[starts]
    out_high = np.maximum.reduceat(series.high, starts)
    out_low = np.minimum.reduceat(series.low, starts)
    out_close = series.close[np.concatenate((starts[1:], [len(series)])) - 1]
    out_vol = np.add.reduceat(series.volume, starts)
    keep = np.ones(ts.shape[0], dtype=bool)
    last_end = int(series.ts[-1]) + src_ms
    if last_end < int(ts[-1]) + dst_ms and counts[-1] < dst_ms // src_ms:
        keep[-1] = False
    return CandleSeries(
        series.symbol,
        timeframe,
        ts[keep],
        out_open[keep],
        out_high[keep],
        out_low[keep],
        out_close[keep],
        out_vol[keep],
    )


def _arrays(s: CandleSeries) -> tuple[np.ndarray, ...]:
    return (s.ts, s.open, s.high, s.low, s.close, s.volume)
