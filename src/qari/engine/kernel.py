"""The one composition root: `build_engine(settings, mode, ...)` picks the clock and the venue.

    live      WallClock            + CcxtExchangeClient per exchange / per user connection
    sandbox   WallClock (or an accelerated clock over the replay) + the built-in venue over HTTP via ccxt
    backtest  ManualClock over files + the sandbox's matching engine in-process (SimulatedExchangeClient)

Nothing below this file asks which mode it runs in: the cycle, the scheduler, analysis, the gate and
execution receive their clock and exchange clients as arguments.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from qari.config import Settings
from qari.core.clocks import ManualClock
from qari.core.time import TIMEFRAME_SECONDS, Clock, to_ms
from qari.engine.cycle import EngineCycle, UserUnit
from qari.engine.metrics import EngineMetrics
from qari.engine.scheduler import Cadence, Scheduler, SchedulerState, SleepUntil
from qari.risk.profile import TradingProfile

log = logging.getLogger("qari.engine.kernel")

Hook = Callable[[], Awaitable[None]]


class EngineMode(StrEnum):
    LIVE = "live"
    SANDBOX = "sandbox"
    BACKTEST = "backtest"


@dataclass(slots=True)
class Engine:
    """A running engine: the cycle plus its scheduler, start-up work and the resources it owns."""

    mode: EngineMode
    clock: Clock
    cycle: EngineCycle
    scheduler: Scheduler
    on_start: list[Hook] = field(default_factory=list)
    on_close: list[Hook] = field(default_factory=list)
    state: str = "created"
    started_at: dt.datetime | None = None
    error: str | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[SchedulerState] | None = None

    async def start(self) -> None:
        """Start cycling in the background (web lifespan, `qari serve`)."""
        self._stop.clear()
        self._task = asyncio.create_task(self.run(), name=f"qari-engine-{self.mode.value}")

    async def run(self, *, until: dt.datetime | None = None) -> SchedulerState:
        """Run start-up hooks (reconciliation) then cycle until stopped or `until` (backtests)."""
        self.state = "starting"
        self.started_at = self.clock.now()
        try:
            for hook in self.on_start:
                await hook()
            self.state = "running"
            result = await self.scheduler.run(self._stop, until=until)
        except asyncio.CancelledError:
            self.state = "stopped"
            raise
        except Exception as e:
            self.state = "failed"
            self.error = type(e).__name__
            log.exception("engine stopped on an error")
            raise
        self.state = "stopped"
        return result

    async def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception as e:  # already logged by run(); stopping must still release resources
                log.warning("engine task ended with %s", type(e).__name__)
        for hook in reversed(self.on_close):
            try:
                await hook()
            except Exception as e:
                log.warning("engine close hook failed: %s", type(e).__name__)
        self.state = "stopped"

    def status(self) -> dict[str, object]:
        """What /healthz shows: mode, state, the last cycle and every exchange's health."""
        report = self.cycle.last_report
        sched = self.scheduler.state
        return {
            "mode": self.mode.value,
            "state": self.state,
            "error": self.error,
            "now": self.clock.now().isoformat(),
            "cycles": sched.cycles,
            "skipped_cycles": sched.skipped_cycles,
            "failed_ticks": sched.failures,
            "last_cycle_at": report.at.isoformat() if report else None,
            "last_cycle_seconds": round(report.seconds, 3) if report else None,
            "last_cycle_errors": report.errors if report else None,
            "exchanges": {v.exchange_id: v.as_dict() for v in self.cycle.health.views()},
            "metrics": self.cycle.metrics.snapshot()["counters"],
        }


def cadence_from(
    settings_cycle_seconds: int, settings_manage_seconds: int, *, settle: float = 0.0
) -> Cadence:
    return Cadence(
        cycle_seconds=settings_cycle_seconds,
        manage_seconds=min(settings_manage_seconds, settings_cycle_seconds),
        settle_seconds=settle,
    )


def assemble(
    mode: EngineMode,
    clock: Clock,
    sleep_until: SleepUntil,
    cadence: Cadence,
    cycle: EngineCycle,
    *,
    on_start: list[Hook] | None = None,
    on_close: list[Hook] | None = None,
) -> Engine:
    scheduler = Scheduler(clock, sleep_until, cadence, cycle.on_tick)
    return Engine(
        mode=mode,
        clock=clock,
        cycle=cycle,
        scheduler=scheduler,
        on_start=on_start or [],
        on_close=on_close or [],
    )


class SteppedVenueSleeper:
    """Waiting in a stepped world: move the venue to the instant (it fills and triggers orders on the
    price path in between), then the engine's ManualClock. Backtests advance the in-process matching
    engine; the sandbox-replay mode advances the sandbox's clock over its admin API."""

    def __init__(self, clock: ManualClock, advance_venue: Callable[[int], Awaitable[None]]) -> None:
        self.clock = clock
        self.advance_venue = advance_venue

    async def __call__(self, until: dt.datetime) -> None:
        if until > self.clock.now():
            await self.advance_venue(to_ms(until))
            self.clock.set(until)
        await asyncio.sleep(0)


# ---------------------------------------------------------------------------------------- backtest


BACKTEST_EXCHANGE = "sandbox"
BACKTEST_USER = 1


@dataclass(slots=True)
class BacktestRun:
    """The engine in backtest mode plus what the runner reads afterwards."""

    engine: Engine
    clock: ManualClock
    venue: Any  # the sandbox's in-process SimulatedExchange
    account_id: str
    store: Any  # SqlTradingStore
    sessions: Any
    recorder: Any
    user_id: int = BACKTEST_USER


async def build_backtest(
    settings: Settings,
    *,
    market: Any,
    balance: Decimal,
    database_url: str,
    cadence_seconds: int | None = None,
) -> BacktestRun:
    """Backtest mode: ManualClock over files + the sandbox's matching engine in-process."""
    from qari.adapters.locks import entry_lock_for
    from qari.adapters.persistence import migrate
    from qari.adapters.persistence.db import make_engine, make_sessionmaker
    from qari.adapters.persistence.repositories.trading import SqlTradingStore
    from qari.adapters.simulator.client import SimulatedExchangeClient
    from qari.adapters.simulator.exchange import SimulatedExchange
    from qari.adapters.simulator.prices import CandleReplay
    from qari.analysis.engine import analyse
    from qari.backtest.feed import ReplayMarketFeed
    from qari.backtest.recorder import BacktestRecorder
    from qari.engine.units import ExecutionUnits, StaticClients, StaticDirectory, StaticProfiles
    from qari.market.candle_files import discover

    await asyncio.to_thread(migrate.upgrade, database_url)
    db = make_engine(database_url)
    sessions = make_sessionmaker(db)
    await _ensure_backtest_user(sessions, BACKTEST_USER)
    clock = ManualClock(market.start)
    files = {k: v for k, v in discover(market.data_dir).items() if k[0] in market.series}
    venue = SimulatedExchange(CandleReplay(files), start_ms=to_ms(market.start), symbols=list(market.series))
    account_id = f"backtest-{BACKTEST_USER}"
    venue.open_account(account_id, {"USDT": balance})
    client = SimulatedExchangeClient(venue, account_id, exchange_id=BACKTEST_EXCHANGE)
    store = SqlTradingStore(sessions)
    metrics = EngineMetrics()
    unit = UserUnit(BACKTEST_USER, BACKTEST_EXCHANGE)
    executor = ExecutionUnits(
        clients=StaticClients({BACKTEST_USER: client}),
        profiles=StaticProfiles(
            TradingProfile(user_id=BACKTEST_USER, exchange_id=BACKTEST_EXCHANGE, waiver=True)
        ),
        store=store,
        locks=entry_lock_for(db, sessions, clock),
        clock=clock,
        metrics=metrics,
    )
    recorder = BacktestRecorder(venue, account_id)
    cycle = EngineCycle(
        mode=EngineMode.BACKTEST.value,
        clock=clock,
        feeds=[ReplayMarketFeed(BACKTEST_EXCHANGE, market.series, market.pairs)],
        analyse=analyse,
        directory=StaticDirectory([unit]),
        executor=executor,
        recorder=recorder,
        metrics=metrics,
    )

    async def advance(ms: int) -> None:
        venue.advance_to(ms)

    step = cadence_seconds or TIMEFRAME_SECONDS[market.entry_timeframe]
    engine = assemble(
        EngineMode.BACKTEST,
        clock,
        SteppedVenueSleeper(clock, advance),
        Cadence(cycle_seconds=step, manage_seconds=step, reverify_seconds=3600),
        cycle,
        on_close=[db.dispose],
    )
    return BacktestRun(engine, clock, venue, account_id, store, sessions, recorder)


async def _ensure_backtest_user(sessions: Any, user_id: int) -> None:
    """The journal's alert outbox refers to a user row; a backtest has one synthetic user."""
    from sqlalchemy import select

    from qari.adapters.persistence.tables.accounts import User

    async with sessions() as session, session.begin():
        if await session.scalar(select(User.id).where(User.id == user_id)) is None:
            session.add(
                User(
                    id=user_id,
                    email="backtest@qari.invalid",
                    password_hash="!",  # noqa: S106 - no login: "!" matches no Argon2 hash
                    plan_tier="premium",
                    trial_ends_at=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
                    waiver=True,
                )
            )
