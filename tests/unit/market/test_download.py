"""What `qari download-data` asks for when a file already holds part of the period."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qari.market.candle_files import load_candle_file
from qari.market.download import candle_path, missing_ranges, read_rows, write_rows

H = 3_600_000


def _rows(first: int, count: int) -> np.ndarray:
    return np.asarray([[first + i * H, 1.0, 2.0, 0.5, 1.5, 10.0] for i in range(count)], dtype=np.float64)


def test_missing_ranges_when_file_covers_the_middle_then_only_both_ends_fetched() -> None:
    have = _rows(10 * H, 5)  # candles opening at 10h..14h
    assert missing_ranges(have, 0, 20 * H, H) == [(0, 10 * H), (15 * H, 20 * H)]
    assert missing_ranges(have, 10 * H, 15 * H, H) == []
    assert missing_ranges(np.empty((0, 6)), 0, 3 * H, H) == [(0, 3 * H)]
    assert missing_ranges(np.empty((0, 6)), 3 * H, 3 * H, H) == []


def test_write_rows_when_unsorted_with_duplicates_then_freqtrade_file_read_back_sorted(
    tmp_path: Path,
) -> None:
    path = candle_path(tmp_path, "SOL/USDT", "1h")
    assert path.name == "SOL_USDT-1h.feather"
    rows = np.concatenate([_rows(2 * H, 3), _rows(0, 3)])  # 2h,3h,4h then 0h,1h,2h (2h twice)
    write_rows(path, rows)
    assert read_rows(path)[:, 0].tolist() == [0, H, 2 * H, 3 * H, 4 * H]
    series = load_candle_file(path)
    assert series.symbol == "SOL/USDT" and series.timeframe == "1h" and len(series) == 5
    assert not list(tmp_path.glob("*.part"))
