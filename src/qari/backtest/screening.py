"""The backtester's analysis: `screen` only at the steps where a candidate is possible.

`analysis.sweep` bounds every pair's whole period in one vectorised pass; at a step it rules out, the
verdict is a screened one with no layers (a backtest acts on candidates only), elsewhere the real
`screen` runs. The bound is sound, so the candidates, and with them every decision, are `screen`'s
(tested). Bounding the pairs is spread over worker processes where they can be forked.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numpy as np

from qari.analysis.engine import Verdict, screen
from qari.analysis.features import Histories
from qari.analysis.sweep import BoolArray, Bound, btc_bound, candidate_steps
from qari.core.market import IntArray, MarketSnapshot

__all__ = ["SweptScreen", "sweep_snapshots"]

Analyse = Callable[[MarketSnapshot], Verdict]


class SweptScreen:
    """An `Analyse` for the cycle: a screened empty verdict where `possible` rules the step out, else
    `analyse` (by default `screen`, reading features it keeps of each whole series). Times off the grid
    `start_ms + i * step_ms` or symbols without a bound are analysed."""

    def __init__(
        self, possible: Mapping[str, BoolArray], start_ms: int, step_ms: int, analyse: Analyse | None = None
    ) -> None:
        self.possible = possible
        self._steps = {symbol: steps.tolist() for symbol, steps in possible.items()}  # a list reads faster
        self.start_ms = start_ms
        self.step_ms = step_ms
        self.analyse = analyse if analyse is not None else partial(screen, histories=Histories())

    def __call__(self, snapshot: MarketSnapshot) -> Verdict:
        if not self.wanted(snapshot.symbol, snapshot.at_ms):
            return Verdict(snapshot.symbol, snapshot.at_ms, (), 0.0, 0, (), None, screened=True)
        return self.analyse(snapshot)

    def wanted(self, symbol: str, at_ms: int) -> bool:
        """Whether `symbol` at `at_ms` needs `analyse`: not ruled out by the bound."""
        steps = self._steps.get(symbol)
        i, off_grid = divmod(at_ms - self.start_ms, self.step_ms)
        return steps is None or bool(off_grid) or not 0 <= i < len(steps) or bool(steps[i])


_job: tuple[Mapping[str, MarketSnapshot], IntArray, Bound | None] | None = None  # inherited by forked workers


def _adopt(templates: Mapping[str, MarketSnapshot], times: IntArray, btc: Bound | None) -> None:
    global _job
    _job = (templates, times, btc)


def _bound(symbol: str) -> BoolArray:
    assert _job is not None, "worker started without templates"
    templates, times, btc = _job
    return _steps(templates[symbol], times, btc)


def _steps(template: MarketSnapshot, times: IntArray, btc: Bound | None) -> BoolArray:
    return candidate_steps(template, times, btc=None if _is_btc(template) else btc)


def _is_btc(template: MarketSnapshot) -> bool:
    return template.symbol.split("/")[0] == "BTC"


def sweep_snapshots(
    templates: Mapping[str, MarketSnapshot], start_ms: int, end_ms: int, step_ms: int, workers: int = 1
) -> SweptScreen:
    """Bound every symbol of `templates` (snapshots carrying whole histories) over the step grid."""
    times = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
    symbols = sorted(templates)
    # the altcoins of one feed share BTC's candles: layer 11 is bounded once for all of them
    alt = next((templates[s] for s in symbols if not _is_btc(templates[s])), None)
    btc = btc_bound(alt, times) if alt is not None else None
    if workers > 1 and len(symbols) > 1:
        with ProcessPoolExecutor(
            min(workers, len(symbols)),
            mp_context=multiprocessing.get_context("fork"),
            initializer=_adopt,
            initargs=(templates, times, btc),
        ) as pool:
            bounds = list(pool.map(_bound, symbols))
    else:
        bounds = [_steps(templates[s], times, btc) for s in symbols]
    return SweptScreen(dict(zip(symbols, bounds, strict=True)), start_ms, step_ms)
