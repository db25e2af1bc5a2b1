from __future__ import annotations

from pathlib import Path

import numpy as np

from qari.core.errors import ExchangeUnavailableError
from qari.core.time import timeframe_ms
from qari.market.candle_files import load_candle_file
from qari.market.ohlcv_store import OhlcvStore

T0 = 1_704_067_200_000
H = timeframe_ms("1h")


class ReplayExchange:
    """An ExchangeClient serving candles from fixed rows, honouring since/limit like ccxt, and
    returning the forming candle too (as real exchanges do)."""

    exchange_id = "replay"

    def __init__(self, rows: dict[tuple[str, str], np.ndarray], now_ms: int) -> None:
        self.rows = rows
        self.now_ms = now_ms
        self.calls: list[tuple[str, str, int | None, int | None]] = []
        self.down: set[str] = set()

    async def fetch_ohlcv(self, symbol, timeframe, since_ms=None, limit=None):
        self.calls.append((symbol, timeframe, since_ms, limit))
        if symbol in self.down:
            raise ExchangeUnavailableError(f"{symbol}: exchange unreachable")
        arr = self.rows[(symbol, timeframe)]
        arr = arr[arr[:, 0] <= self.now_ms]  # up to and including the forming candle
        if since_ms is not None:
            arr = arr[arr[:, 0] >= since_ms]
        return arr[: limit or 500].tolist()


def _rows(n: int, step: int = H) -> np.ndarray:
    ts = T0 + step * np.arange(n)
    close = 100 + np.arange(n, dtype=float)
    return np.column_stack((ts, close - 0.5, close + 1, close - 1, close, np.full(n, 10.0)))


async def test_store_when_refreshed_then_only_closed_candles_kept() -> None:
    now = T0 + 50 * H + 20 * 60_000  # 20 minutes into candle 50
    ex = ReplayExchange({("BTC/USDT", "1h"): _rows(200)}, now)
    store = OhlcvStore("replay", max_candles=600)

    report = await store.refresh(ex, ["BTC/USDT"], ["1h"], now)

    s = store.get("BTC/USDT", "1h")
    assert s is not None
    assert int(s.ts[-1]) == T0 + 49 * H  # candle 50 is still forming
    assert report.fetched_candles == len(s) == 50


async def test_store_when_refreshed_again_then_fetches_only_new_closed_candles() -> None:
    now = T0 + 50 * H
    ex = ReplayExchange({("BTC/USDT", "1h"): _rows(200)}, now)
    store = OhlcvStore("replay")
    await store.refresh(ex, ["BTC/USDT"], ["1h"], now)
    ex.calls.clear()

    await store.refresh(ex, ["BTC/USDT"], ["1h"], now + 10 * 60_000)  # nothing new has closed
    assert ex.calls == []

    ex.now_ms = now + 2 * H
    report = await store.refresh(ex, ["BTC/USDT"], ["1h"], now + 2 * H)

    assert ex.calls == [("BTC/USDT", "1h", T0 + 50 * H, 1000)]
    assert report.fetched_candles == 2
    s = store.get("BTC/USDT", "1h")
    assert s is not None and int(s.ts[-1]) == T0 + 51 * H
    assert np.all(np.diff(s.ts) == H)


async def test_store_when_timeframe_derived_then_resampled_from_source() -> None:
    now = T0 + 48 * H
    ex = ReplayExchange({("ETH/USDT", "1h"): _rows(100)}, now)
    store = OhlcvStore("replay", derived={"4h": "1h"})

    await store.refresh(ex, ["ETH/USDT"], ["1h", "4h"], now)

    h4 = store.get("ETH/USDT", "4h")
    assert h4 is not None and len(h4) == 12
    assert {c[1] for c in ex.calls} == {"1h"}
    assert h4.high[0] == 104.0 and h4.low[0] == 99.0 and h4.volume[0] == 40.0


async def test_store_when_cache_dir_then_restart_reads_cache_without_refetching(tmp_path: Path) -> None:
    now = T0 + 30 * H
    ex = ReplayExchange({("SOL/USDT", "1h"): _rows(100)}, now)
    await OhlcvStore("replay", cache_dir=tmp_path).refresh(ex, ["SOL/USDT"], ["1h"], now)
    ex.calls.clear()

    restarted = OhlcvStore("replay", cache_dir=tmp_path)
    assert restarted.load_cache(["SOL/USDT"], ["1h"]) == 1
    await restarted.refresh(ex, ["SOL/USDT"], ["1h"], now)

    assert ex.calls == []
    cached = load_candle_file(tmp_path / "SOL_USDT-1h.json")
    assert len(cached) == 30


async def test_store_when_one_symbol_fails_then_others_still_refresh_and_failure_reported() -> None:
    now = T0 + 10 * H
    ex = ReplayExchange({("A/USDT", "1h"): _rows(20), ("B/USDT", "1h"): _rows(20)}, now)
    ex.down.add("B/USDT")
    store = OhlcvStore("replay")

    report = await store.refresh(ex, ["A/USDT", "B/USDT"], ["1h"], now)

    assert store.get("A/USDT", "1h") is not None
    assert store.get("B/USDT", "1h") is None
    assert "B/USDT 1h" in report.failed


async def test_store_when_history_longer_than_a_page_then_pages_until_caught_up() -> None:
    now = T0 + 2500 * H
    ex = ReplayExchange({("BTC/USDT", "1h"): _rows(3000)}, now)
    store = OhlcvStore("replay", max_candles=2400)

    await store.refresh(ex, ["BTC/USDT"], ["1h"], now)

    s = store.get("BTC/USDT", "1h")
    assert s is not None and len(s) == 2400 and int(s.ts[-1]) == T0 + 2499 * H
    assert len(ex.calls) >= 3
