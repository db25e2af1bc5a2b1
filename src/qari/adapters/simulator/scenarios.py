"""The demo market: seeded, repeating scenarios that the 11 layers trade, for the sandbox-only install.

A random walk rarely shows the setups the analysis looks for (issue 17: no candidate in ten minutes), so
the default synthetic market is scripted instead. Every altcoin runs the same 20-hour scenario, each
one shifted by about a quarter of the cycle so that some symbol is always near an entry:

    trend       off the cycle low, a break of the last lower high (bullish change of character), a
                higher low and a higher high; the last down candle before the break is an order block
    pullback    back into the golden pocket and the order block, where Leg 1's limit fills
    rally       through the high (PT1) and on to the cycle high (PT2), with a last higher low
    breakdown   through that higher low (the trailing stop sells the rest), then lower highs and lows;
                an entry taken near the top meets its stop here

The amplitude (about +45 % from the cycle low) is set by the risk rules, not by taste: a structural
stop must lie 10–30 % below the entry (R4) and PT2 at least 2 R above it (G13). No hour falls 20 %
(that would be an extreme liquidation event, which vetoes entries). Rallies trade on more volume than
pullbacks. BTC climbs gently in a daily wave (higher highs and higher lows on the 4h and the daily),
so its context never vetoes altcoin entries; every symbol drifts up 0.3 % a day from
`DRIFT_EPOCH_DAY` so the daily and 4h structure of the altcoins reads bullish too. The seed sets the
noise (a small Brownian bridge per day) and where each altcoin's cycle starts (up to an hour later).

Like `SyntheticMarket`, the prices are a pure function of (seed, symbol, absolute time): every run
and every start time sees the same market.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from qari.adapters.simulator.prices import (
    DEFAULT_SYNTHETIC,
    SyntheticMarket,
    SyntheticSymbol,
)
from qari.core.market import FloatArray

CYCLE_MINUTES = 20 * 60
# (hour of the cycle, log-price offset from the cycle low); the cycle ends where it starts. Swings last
# an hour or more, so the entry timeframe's pivots (15m, three candles each side) see each of them.
SCENARIO: tuple[tuple[float, float], ...] = (
    (0.0, 0.00),  # cycle low
    (2.0, 0.17),  # trend: breaks the last lower high (bullish change of character)
    (3.25, 0.10),  # higher low
    (4.0, 0.168),
    (4.25, 0.158),  # the last down candle before the break: the order block (a higher low too)
    (4.5, 0.19),  # break of structure
    (5.5, 0.30),  # higher high
    (6.75, 0.174),  # pullback into the golden pocket (61.8-65 %) just above the order block ...
    (7.25, 0.163),  # ... and into the block (Leg 1's limit fills), holding above its low
    (8.5, 0.31),  # rally: breaks the high (PT1) ...
    (9.25, 0.28),  # ... a last higher low (where the trailing stop goes) ...
    (10.25, 0.47),  # ... and on through PT2 to the cycle high
    (11.75, 0.25),  # breakdown through that higher low (the rest is sold), never 20 % within an hour
    (12.5, 0.30),  # lower highs and lower lows
    (14.0, 0.12),
    (15.0, 0.16),
    (16.75, 0.03),
    (18.25, 0.12),  # the last lower high, which the next cycle's trend breaks
    (20.0, 0.00),
)
PHASE_JITTER_MINUTES = 60
DRIFT_PER_DAY = 0.003
DRIFT_EPOCH_DAY = 20_788  # 2026-12-01: prices start there at the symbol's start price
BTC_WAVE = 0.012  # BTC's daily wave (log amplitude)
NOISE_DAILY_VOL = {True: 0.002, False: 0.002}  # BTC, altcoins


class ScenarioMarket(SyntheticMarket):
    """`SyntheticMarket`'s candles and caching, with the scripted path above instead of a random walk."""

    def __init__(self, seed: int, symbols: Sequence[SyntheticSymbol] = DEFAULT_SYNTHETIC) -> None:
        super().__init__(seed, symbols)
        alts = [s.symbol for s in symbols if not _is_btc(s.symbol)]
        late = np.random.default_rng([seed, 0x5CE]).integers(0, PHASE_JITTER_MINUTES, size=len(alts))
        self._phase = {
            sym: i * CYCLE_MINUTES // max(len(alts), 1) + int(late[i]) for i, sym in enumerate(alts)
        }

    def _move_volume(self, log_moves: FloatArray) -> FloatArray:
        """Rallies on rising volume, pullbacks on thin volume (what the volume layer looks for)."""
        up, down = np.maximum(log_moves, 0.0), np.maximum(-log_moves, 0.0)
        return np.asarray(1.0 + 400.0 * up + 40.0 * down, dtype=np.float64)

    def _log_path(self, symbol: str, day: int, rng: np.random.Generator) -> FloatArray:
        """Log price at each minute of `day` (1441 points, both midnights included)."""
        _, spec = self._specs[symbol]
        minute = day * 1440 + np.arange(1441, dtype=np.int64)
        btc = _is_btc(symbol)
        level = math.log(spec.start_price) + DRIFT_PER_DAY * (minute / 1440.0 - DRIFT_EPOCH_DAY)
        if btc:
            shape = BTC_WAVE * (1.0 - np.cos(2.0 * np.pi * (minute % 1440) / 1440.0)) / 2.0
        else:
            shifted = minute + self._phase[symbol]
            hours, offsets = zip(*SCENARIO, strict=True)
            shape = np.interp((shifted % CYCLE_MINUTES) / 60.0, hours, offsets)
        sigma = NOISE_DAILY_VOL[btc] / math.sqrt(1440)
        walk = np.concatenate(([0.0], np.cumsum(rng.standard_normal(1440) * sigma)))
        bridge = walk - np.linspace(0.0, 1.0, 1441) * walk[-1]  # zero at both midnights: continuous days
        return np.asarray(level + shape + bridge, dtype=np.float64)


def _is_btc(symbol: str) -> bool:
    return symbol.split("/")[0] == "BTC"
