"""Backtest analysis computed ahead of the clock on worker processes.

Analysis reads market data only, never the portfolio, so in a backtest every cycle's inputs are known
in advance. Worker processes run the engine's own analysis function over the replay feed's snapshots
for the cycles ahead while the engine executes the current one; the engine then reads the verdict for
(symbol, time). A verdict is the same pure function of the same snapshot wherever it is computed, so
the decisions are identical to analysing in-line (tested). Any (symbol, time) not computed ahead is
analysed in-line, so the result never depends on guessing the schedule right.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol

from qari.core.market import MarketSnapshot

__all__ = ["AheadAnalysis"]

Analyse = Callable[[MarketSnapshot], Any]
Chunk = dict[int, dict[str, Any]]


class SnapshotSource(Protocol):
    """The replay feed: what the exchange showed at `at_ms` (`ReplayMarketFeed.snapshots_at`)."""

    def snapshots_at(self, at_ms: int) -> Mapping[str, MarketSnapshot]: ...


_worker: tuple[SnapshotSource, Analyse] | None = None  # inherited by the forked workers


def _adopt(feed: SnapshotSource, analyse: Analyse) -> None:
    global _worker
    _worker = (feed, analyse)


def _analyse_chunk(times_ms: list[int]) -> Chunk:
    assert _worker is not None, "worker started without a feed"
    feed, analyse = _worker
    out: Chunk = {}
    for at_ms in times_ms:
        out[at_ms] = {symbol: analyse(snap) for symbol, snap in feed.snapshots_at(at_ms).items()}
    return out


class AheadAnalysis:
    """An `Analyse` callable for the cycle, backed by `workers` forked processes."""

    def __init__(
        self,
        feed: SnapshotSource,
        analyse: Analyse,
        *,
        step_ms: int,
        end_ms: int,
        workers: int,
        chunk: int = 48,
    ) -> None:
        self.analyse = analyse
        self.step_ms = step_ms
        self.end_ms = end_ms
        self.chunk = chunk
        self.ahead = 2 * workers
        # Fork: workers inherit the loaded candles instead of unpickling hundreds of MB each.
        self._pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_adopt,
            initargs=(feed, analyse),
        )
        self._futures: dict[int, Future[Chunk]] = {}  # first time of a chunk -> its result
        self._chunk_of: dict[int, int] = {}  # time -> first time of its chunk
        self._next_ms: int | None = None
        self._done: Chunk = {}

    def __call__(self, snapshot: MarketSnapshot) -> Any:
        at_ms = snapshot.at_ms
        if at_ms not in self._done:
            self._collect(at_ms)
        verdict = self._done.get(at_ms, {}).get(snapshot.symbol)
        return verdict if verdict is not None else self.analyse(snapshot)

    def _collect(self, at_ms: int) -> None:
        if at_ms not in self._chunk_of:
            self._futures.clear()  # the schedule moved off the precomputed grid: restart from here
            self._chunk_of.clear()
            self._next_ms = at_ms
        self._top_up()
        first = self._chunk_of.get(at_ms)
        if first is None:
            return
        self._done = self._futures.pop(first).result()
        for t in self._done:
            self._chunk_of.pop(t, None)
        self._top_up()

    def _top_up(self) -> None:
        while len(self._futures) < self.ahead and self._next_ms is not None and self._next_ms <= self.end_ms:
            times = list(
                range(
                    self._next_ms,
                    min(self.end_ms, self._next_ms + self.step_ms * (self.chunk - 1)) + 1,
                    self.step_ms,
                )
            )
            self._futures[times[0]] = self._pool.submit(_analyse_chunk, times)
            self._chunk_of.update(dict.fromkeys(times, times[0]))
            self._next_ms = times[-1] + self.step_ms

    async def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
