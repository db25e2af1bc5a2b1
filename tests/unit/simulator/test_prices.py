"""Price sources: the synthetic market is a pure function of time; replays shift by whole weeks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from simulator_market import FLAT, STEP, T0, write_market
from tests.market_data import MARKET_DATA, needs_market_data

from qari.adapters.simulator.prices import (
    DAY_MS,
    WEEK_MS,
    CandleReplay,
    PricePath,
    SyntheticMarket,
    aggregate,
    bucket_start,
)
from qari.core.market import CandleSeries


def test_synthetic_when_same_seed_then_same_candles_regardless_of_window() -> None:
    a = SyntheticMarket(11).base_candles("BTC/USDT", T0, T0 + 2 * DAY_MS)
    b = SyntheticMarket(11).base_candles("BTC/USDT", T0 + DAY_MS, T0 + 2 * DAY_MS)
    assert np.array_equal(a.close[288:], b.close) and len(a) == 576
    other = SyntheticMarket(12).base_candles("BTC/USDT", T0, T0 + DAY_MS)
    assert not np.array_equal(a.close[:288], other.close)
    assert np.all(a.high >= np.maximum(a.open, a.close)) and np.all(a.low <= np.minimum(a.open, a.close))
    assert np.all(a.open[1:] == a.close[:-1])  # a continuous path


def test_aggregate_when_hourly_from_5m_then_ohlcv_combined() -> None:
    market = SyntheticMarket(5)
    fine = market.base_candles("ETH/USDT", T0, T0 + DAY_MS)
    hourly = aggregate(fine, "1h")
    assert len(hourly) == 24 and hourly.ts[1] - hourly.ts[0] == 3_600_000
    assert hourly.open[0] == fine.open[0] and hourly.close[0] == fine.close[11]
    assert hourly.high[0] == fine.high[:12].max() and hourly.volume[0] == pytest.approx(
        fine.volume[:12].sum()
    )
    weekly = bucket_start(np.asarray([T0 + 3 * DAY_MS], dtype=np.int64), "1w")
    assert weekly[0] == T0  # weeks open on Monday; 2024-01-01 was one
    month = bucket_start(np.asarray([T0 + 40 * DAY_MS], dtype=np.int64), "1M")
    assert month[0] == T0 + 31 * DAY_MS


def test_price_path_when_rising_candle_then_open_low_high_close(tmp_path: Path) -> None:
    source = write_market(tmp_path, [(100.0, 110.0, 95.0, 105.0, 8.0), *FLAT[:2]])
    path = PricePath(source, "BTC/USDT")
    times, prices, vols = path.points(T0 - 1, T0 + STEP)
    assert times.tolist() == [T0 + i * STEP // 4 for i in range(5)]
    assert prices.tolist() == [100.0, 95.0, 110.0, 105.0, 100.0]
    assert vols.tolist() == [2.0, 2.0, 2.0, 2.0, 250.0]
    assert path.price_at(T0 + STEP // 8) == pytest.approx(97.5)


def test_replay_when_aligned_then_shifted_by_whole_weeks_keeping_history(tmp_path: Path) -> None:
    source = write_market(tmp_path, FLAT)
    source.align_start(T0 + 100 * WEEK_MS + 12345, future_days=0)
    assert source.shift_ms % WEEK_MS == 0
    first = source.base_candles("BTC/USDT", 0, 2**62)
    assert first.ts[0] == T0 + source.shift_ms and len(first) == len(FLAT)
    with pytest.raises(ValueError, match="weeks"):
        CandleReplay({}, shift_ms=1)


@needs_market_data
def test_replay_when_real_feather_files_then_klines_from_files_and_aggregates() -> None:
    replay = CandleReplay.from_dir(MARKET_DATA, symbols=["BTC/USDT"])
    assert replay.base_timeframe("BTC/USDT") == "5m"
    first, _ = replay.data_span()
    assert first == T0
    daily = replay.candles("BTC/USDT", "1d", T0, T0 + 3 * DAY_MS)
    assert isinstance(daily, CandleSeries) and len(daily) == 3
    two_hourly = replay.candles("BTC/USDT", "2h", T0, T0 + DAY_MS)
    assert len(two_hourly) == 12 and two_hourly.open[0] == pytest.approx(42283.58)


def test_replay_when_started_at_a_data_moment_then_it_lands_in_the_week_before_now(tmp_path: Path) -> None:
    source = write_market(tmp_path, FLAT)
    moment = T0 + 3 * STEP
    now = T0 + 100 * WEEK_MS + 2 * DAY_MS
    start = source.start_at(moment, now)
    assert source.shift_ms % WEEK_MS == 0
    assert start == moment + source.shift_ms and now - WEEK_MS < start <= now
    assert source.base_candles("BTC/USDT", start, start + STEP).close.tolist() == [FLAT[3][3]]
    with pytest.raises(ValueError, match="outside the data"):
        source.start_at(T0 + len(FLAT) * STEP, now)


class _WindowsOnly:
    """The same replay seen only through `PriceSource` windows (what a path reads from any source)."""

    def __init__(self, replay: CandleReplay) -> None:
        self.replay = replay

    def symbols(self) -> list[str]:
        return self.replay.symbols()

    def base_timeframe(self, symbol: str) -> str:
        return self.replay.base_timeframe(symbol)

    def base_candles(self, symbol: str, start_ms: int, end_ms: int) -> CandleSeries:
        return self.replay.base_candles(symbol, start_ms, end_ms)

    def listed_from(self, symbol: str) -> int | None:
        return self.replay.listed_from(symbol)

    def candles(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> CandleSeries:
        return self.replay.candles(symbol, timeframe, start_ms, end_ms)


def test_price_path_when_source_holds_the_series_then_it_reads_what_the_windows_read(
    tmp_path: Path,
) -> None:
    # Arrange: rising and falling candles, a gap shorter than a candle, one of hours and one of over
    # 30 days (the price then holds the last close, and after 30 days is unknown)
    opens = [0, 1, 2, 3, 10, 11, 12, 12 + 9 * 288 * 4, 12 + 9 * 288 * 4 + 1]
    rng = np.random.default_rng(3)
    rows = []
    for k in opens:
        o, c = rng.uniform(90, 110, size=2)
        rows.append([T0 + k * STEP, o, max(o, c) + 1.5, min(o, c) - 1.5, c, 10.0])
    (tmp_path / "BTC_USDT-5m.json").write_text(json.dumps(rows))
    replay = CandleReplay.from_dir(tmp_path)
    held, windowed = PricePath(replay, "BTC/USDT"), PricePath(_WindowsOnly(replay), "BTC/USDT")
    end = T0 + (opens[-1] + 2) * STEP

    # Act / Assert: every minute and every quarter-candle point, and the instants around the gaps
    moments = {*range(T0 - STEP, end, 60_000), *range(T0 - STEP, end, STEP // 4)}
    moments |= {T0 + k * STEP + d for k in opens for d in (-1, 0, 1, STEP - 1, STEP, STEP + 1)}
    moments |= {T0 + 12 * STEP + 30 * DAY_MS + d for d in (-1, 0, 1, STEP, STEP + 1)}
    assert held._held is not None and windowed._held is None
    differing = [ms for ms in sorted(moments) if held.price_at(ms) != windowed.price_at(ms)]
    assert differing == []
    spans = [(a, b) for a in sorted(moments)[::7] for b in (a, a + 1, a + STEP, a + DAY_MS)]
    assert [s for s in spans if held.range_until(*s) != windowed.range_until(*s)] == []
    assert [s for s in spans if held.turnover(*s) != windowed.turnover(*s)] == []
    assert held.turnover(T0, end) > 0 and held.range_until(T0 - 2 * STEP, T0 - STEP) is None
    assert held.price_at(T0 - 1) is None and held.price_at(T0 + 12 * STEP + 31 * DAY_MS) is None
