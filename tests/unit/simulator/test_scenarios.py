"""Issue 17: the demo market shows the setups the 11 layers trade, early and regularly, with a BTC that
never vetoes, deterministically per seed. Read through the real analysis (`analyse_many`) on the
candles the engine's feed would fetch."""

from __future__ import annotations

import datetime as dt

import numpy as np

from qari.adapters.simulator.prices import SyntheticMarket
from qari.adapters.simulator.scenarios import CYCLE_MINUTES, ScenarioMarket
from qari.analysis.engine import analyse_many
from qari.core.market import CandleSeries
from qari.core.time import timeframe_ms, to_ms
from qari.engine.market_feed import HISTORY, TIMEFRAMES
from qari.market.snapshots import build_snapshots

START = to_ms(dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC))
HOUR = 3_600_000


def _closed(market: SyntheticMarket, symbol: str, at: int) -> dict[str, CandleSeries]:
    out = {}
    for tf in TIMEFRAMES:
        step = timeframe_ms(tf)
        candles = market.candles(symbol, tf, at - HISTORY[tf] * step, at)
        out[tf] = candles.window(0, int((candles.ts + step <= at).sum()))
    return out


def _scan(
    market: SyntheticMarket, hours: int, every_minutes: int = 30
) -> list[tuple[int, str, tuple[str, ...]]]:
    """(hour, symbol, vetoes) of every candidate and every veto over `hours` from START."""
    seen: list[tuple[int, str, tuple[str, ...]]] = []
    for step in range(hours * 60 // every_minutes):
        at = START + step * every_minutes * 60_000
        series = {s: _closed(market, s, at) for s in market.symbols()}
        for symbol, verdict in analyse_many(build_snapshots(series, at)).items():
            if verdict.candidate is not None or verdict.vetoes:
                seen.append(((at - START) // HOUR, symbol, verdict.vetoes))
    return seen


def test_scenarios_when_scanned_for_a_cycle_then_every_altcoin_has_candidates_and_nothing_vetoes() -> None:
    found = _scan(ScenarioMarket(7), hours=CYCLE_MINUTES // 60)

    candidates = [(h, s) for h, s, vetoes in found if not vetoes]
    assert {s for _, s in candidates} >= {"ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT"}
    assert min(h for h, _ in candidates) <= 3  # the first within hours of any start
    assert not [v for _, _, v in found if v]  # BTC's context and the breakdowns veto nothing


def test_scenarios_when_same_seed_then_same_prices_for_any_window() -> None:
    a = ScenarioMarket(7).base_candles("ETH/USDT", START, START + 2 * 86_400_000)
    b = ScenarioMarket(7).base_candles("ETH/USDT", START + 86_400_000, START + 2 * 86_400_000)
    other = ScenarioMarket(8).base_candles("ETH/USDT", START, START + 86_400_000)

    assert np.array_equal(a.close[-len(b) :], b.close)
    assert not np.array_equal(a.close[: len(other)], other.close)
    assert np.all(a.open[1:] == a.close[:-1])  # one continuous path across days
    window = 12  # one hour of 5m candles: no drop of 20 % within it (no ELE veto)
    peaks = np.lib.stride_tricks.sliding_window_view(a.high, window).max(axis=1)
    troughs = np.lib.stride_tricks.sliding_window_view(a.low, window).min(axis=1)
    assert (1 - troughs / peaks).max() < 0.2
