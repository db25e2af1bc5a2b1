"""BTC dominance: a loader for daily `[open_time_ms, value]` JSON files (e.g. ../shared/data/dominance)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qari.core.market import FloatArray, IntArray, MarketContext


class DominanceFileError(ValueError):
    """A dominance file that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class DominanceSeries:
    ts: IntArray
    values: FloatArray

    def into(self, context: MarketContext) -> MarketContext:
        """The same context with this dominance series attached (the analysis cuts it at `at_ms`)."""
        return MarketContext(
            funding_rate=context.funding_rate,
            open_interest=context.open_interest,
            fear_greed=context.fear_greed,
            btc_dominance=self.values,
            btc=context.btc,
            btc_dominance_ts=self.ts,
        )

    def value_at(self, at_ms: int) -> float | None:
        """The latest daily value whose day closed by `at_ms`."""
        n = int(np.searchsorted(self.ts, at_ms - 86_400_000, side="right"))
        return float(self.values[n - 1]) if n > 0 else None


def load_dominance(path: Path | str) -> DominanceSeries:
    path = Path(path)
    try:
        rows = json.loads(path.read_text("utf-8"))
        arr = np.asarray(rows, dtype=np.float64).reshape(-1, 2)
    except (OSError, ValueError, TypeError) as e:
        raise DominanceFileError(f"{path}: cannot read dominance rows [ms, value] ({e})") from None
    arr = arr[np.argsort(arr[:, 0], kind="stable")]
    return DominanceSeries(arr[:, 0].astype(np.int64), arr[:, 1].copy())
