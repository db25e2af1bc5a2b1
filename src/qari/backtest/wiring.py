"""The engine wired for a backtest: a ManualClock over candle files and the sandbox's matching engine
in-process (`SimulatedExchangeClient`), built on the composition root's `static_run`.

The wiring lives here, beside the runner that drives it, so the dependency runs one way: `backtest`
imports `engine.kernel` (the composition root), never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from qari.config import Settings
from qari.core.clocks import ManualClock
from qari.core.time import TIMEFRAME_SECONDS, to_ms
from qari.engine.kernel import SANDBOX, StaticRun, static_run
from qari.engine.runtime import Engine, EngineMode
from qari.engine.scheduler import Cadence, SteppedVenueSleeper

BACKTEST_EXCHANGE = SANDBOX
BACKTEST_USER = 1


@dataclass(slots=True)
class BacktestRun:
    """The engine in backtest mode plus what the runner reads afterwards."""

    run: StaticRun
    clock: ManualClock
    venue: Any  # the sandbox's in-process SimulatedExchange
    account_id: str
    recorder: Any
    user_id: int = BACKTEST_USER

    @property
    def engine(self) -> Engine:
        return self.run.engine

    @property
    def store(self) -> Any:
        return self.run.store

    @property
    def sessions(self) -> Any:
        return self.run.sessions


async def build_backtest(
    settings: Settings,
    *,
    market: Any,
    balance: Decimal,
    database_url: str | None = None,
    cadence_seconds: int | None = None,
    analysis_workers: int = 1,
    record_decisions: bool = False,
) -> BacktestRun:
    """Backtest mode: ManualClock over files + the sandbox's matching engine in-process.

    The journal is kept in memory unless a `database_url` asks for SQL (tests compare the two). A
    backtest shows no scanner, so it analyses with `screen` (the same candidates, cheaper) and only
    where `analysis.sweep` finds a candidate possible; with `analysis_workers` > 1 it does so ahead of
    the clock on that many processes."""
    from qari.adapters.simulator.client import SimulatedExchangeClient
    from qari.adapters.simulator.exchange import SimulatedExchange
    from qari.adapters.simulator.prices import CandleReplay
    from qari.backtest.ahead import AheadAnalysis
    from qari.backtest.feed import ReplayMarketFeed
    from qari.backtest.recorder import BacktestRecorder
    from qari.backtest.screening import sweep_snapshots
    from qari.market.candle_files import discover

    clock = ManualClock(market.start)
    files = {k: v for k, v in discover(market.data_dir).items() if k[0] in market.series}
    venue = SimulatedExchange(CandleReplay(files), start_ms=to_ms(market.start), symbols=list(market.series))
    account_id = f"backtest-{BACKTEST_USER}"
    venue.open_account(account_id, {"USDT": balance})
    client = SimulatedExchangeClient(venue, account_id)
    recorder = BacktestRecorder(venue, account_id)

    async def advance(ms: int) -> None:
        venue.advance_to(ms)

    step = cadence_seconds or TIMEFRAME_SECONDS[market.entry_timeframe]
    feed = ReplayMarketFeed(BACKTEST_EXCHANGE, market.series, market.pairs)
    end_ms, step_ms = to_ms(market.end), step * 1000
    first_ms = -(-to_ms(market.start) // step_ms) * step_ms  # cycles fall on multiples of the step
    swept = sweep_snapshots(feed.snapshots_at(end_ms), first_ms, end_ms, step_ms, analysis_workers)
    ahead = (
        AheadAnalysis(
            feed, swept, step_ms=step_ms, end_ms=end_ms, workers=analysis_workers, wanted=swept.wanted
        )
        if analysis_workers > 1
        else None
    )
    run = await static_run(
        EngineMode.BACKTEST,
        clock=clock,
        sleep_until=SteppedVenueSleeper(clock, advance),
        cadence=Cadence(cycle_seconds=step, manage_seconds=step),
        feed=feed,
        clients={BACKTEST_USER: client},
        exchange_id=BACKTEST_EXCHANGE,
        database_url=database_url,
        recorder=recorder,
        analyse=ahead or swept,
        on_close=[ahead.close] if ahead else [],
        record_decisions="screen" if record_decisions else None,
        sandbox_protocol=settings.sandbox_protocol,  # ids spelled as the sandbox spells them (parity)
    )
    return BacktestRun(run, clock, venue, account_id, recorder)
