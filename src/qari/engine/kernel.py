"""The one composition root: `build_engine(settings, mode, ...)` picks the clock and the venue.

    live      WallClock            + CcxtExchangeClient per exchange / per user connection
    sandbox   WallClock (or an accelerated clock over the replay) + the built-in venue over HTTP via ccxt
    backtest  ManualClock over files + the sandbox's matching engine in-process (SimulatedExchangeClient)

Nothing below this file asks which mode it runs in: the cycle, the scheduler, analysis, the gate and
execution receive their clock and exchange clients as arguments. `engine/roles.py` is this root's half
for the scaled-out roles' processes (`qari scheduler`, `qari worker`), built from the parts below.
Its neighbours: `engine/runtime.py` (the running `Engine` these build), `backtest/wiring.py` (backtest
mode, on `static_run`), `services/engine_ports.py` (the database-backed ports plugged in here) and
`adapters/persistence/journal.py` (a fixed set of users' journal).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from qari.config import Settings
from qari.core.clocks import WallClock
from qari.core.time import Clock
from qari.engine.cycle import EngineCycle, Timeouts
from qari.engine.execution import ExecutionConfig
from qari.engine.health import HealthTracker
from qari.engine.market_feed import ExchangeMarketFeed
from qari.engine.metrics import EngineMetrics
from qari.engine.runtime import Engine, EngineMode, Hook, assemble
from qari.engine.scheduler import Cadence, RealTimeSleeper, SleepUntil, VenueClock, VenueSleeper, cadence_from
from qari.ports import ExchangeClient, NullRecorder, UserUnit
from qari.risk.profile import TradingProfile

log = logging.getLogger("qari.engine.kernel")

SANDBOX = "sandbox"  # the built-in venue (speaking QARI_SANDBOX_PROTOCOL), in-process or over HTTP


def default_profile(user_id: int, exchange_id: str) -> TradingProfile:
    return TradingProfile(user_id=user_id, exchange_id=exchange_id, waiver=True)


@dataclass(slots=True)
class StaticRun:
    """An engine over a fixed set of users (backtests, stepped sandbox runs, benchmarks, tests)."""

    engine: Engine
    clock: Clock
    store: Any  # SqlTradingStore, or MemoryTradingStore in backtests
    sessions: Any  # None without a database
    db: Any
    recorder: Any
    clients: dict[int, ExchangeClient]
    units: Any  # ExecutionUnits


async def static_run(
    mode: EngineMode,
    *,
    clock: Clock,
    sleep_until: SleepUntil,
    cadence: Cadence,
    feed: Any,
    clients: dict[int, ExchangeClient],
    exchange_id: str,
    database_url: str | None,
    recorder: Any,
    profile: Callable[[int, str], TradingProfile] = default_profile,
    timeouts: Timeouts | None = None,
    reconcile_on_start: bool = True,
    on_close: Sequence[Hook] = (),
    analyse: Callable[[Any], Any] | None = None,
    executor: Any = None,
    record_decisions: str | None = None,
    sandbox_protocol: str = "bybit",
) -> StaticRun:
    """`record_decisions`: store decision records (`analyse` or `screen`, the analysis entry point
    in use) in the journal's database; needs a `database_url`."""
    from qari.adapters.persistence.journal import open_journal
    from qari.analysis.engine import analyse as full_analysis
    from qari.engine.units import ExecutionUnits, StaticClients, StaticDirectory, StaticProfiles

    store, locks, db, sessions = await open_journal(
        database_url, sorted(clients), clock, (timeouts or Timeouts()).max_concurrent_users
    )
    if record_decisions is not None:
        if sessions is None:
            raise ValueError("decision records need a database_url")
        from qari.adapters.persistence.decisions import SqlDecisionRecorder

        recorder = SqlDecisionRecorder(sessions, inner=recorder, method=record_decisions, retention=None)
    metrics = EngineMetrics()
    units = [UserUnit(user_id, exchange_id) for user_id in sorted(clients)]
    borrowed = StaticClients(clients)
    executor = executor or ExecutionUnits(
        clients=borrowed,
        profiles=StaticProfiles(
            profile(0, exchange_id), {u.user_id: profile(u.user_id, exchange_id) for u in units}
        ),
        store=store,
        locks=locks,
        clock=clock,
        metrics=metrics,
        reconcile_every=dt.timedelta(seconds=cadence.cycle_seconds),
        config=venue_execution_config(sandbox_protocol),
    )
    cycle = EngineCycle(
        mode=mode.value,
        clock=clock,
        feeds=[feed],
        analyse=analyse or full_analysis,
        directory=StaticDirectory(units),
        executor=executor,
        recorder=recorder,
        metrics=metrics,
        timeouts=timeouts,
    )

    async def reconcile_all() -> None:
        for unit in units:
            try:
                await executor.reconcile(unit)
            except Exception as e:  # one user's venue trouble must not keep the engine from starting
                log.warning("start-up reconciliation failed for user %d: %s", unit.user_id, type(e).__name__)

    engine = assemble(
        mode,
        clock,
        sleep_until,
        cadence,
        cycle,
        on_start=[reconcile_all] if reconcile_on_start else [],
        on_close=[*on_close, borrowed.close, *([db.dispose] if db is not None else [])],
    )
    return StaticRun(engine, clock, store, sessions, db, recorder, clients, executor)


# ----------------------------------------------------------------------------------------- sandbox


async def build_sandbox(
    settings: Settings,
    *,
    base_url: str,
    accounts: Mapping[int, tuple[str, ...]],
    database_url: str,
    clock: Clock,
    sleep_until: SleepUntil,
    cadence: Cadence,
    symbols: Sequence[str] | None = None,
    recorder: Any = None,
    timeouts: Timeouts | None = None,
    timeout_ms: int = 10_000,
    broker_url: str | None = None,
    queue: str | None = None,
    record_decisions: bool = False,
) -> StaticRun:
    """Sandbox mode over HTTP with a fixed set of sandbox keys: the built-in venue through unmodified
    ccxt, exactly as a live exchange (the offline demo, stepped replays, tests and benchmarks). It speaks
    `settings.sandbox_protocol` (ccxt's class of that name); `accounts`: user -> (key, secret[, passphrase]).

    With `broker_url`, the users' units of work go to the task engine (`adapters/tasks.py`): `qari
    worker` processes started with `sandbox_worker_env(...)` run them."""
    from qari.adapters.exchanges.capabilities import sandbox_capabilities
    from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, CcxtVenue

    protocol = settings.sandbox_protocol
    # One venue for the feed and every user: one HTTP connection pool, markets loaded once per cycle.
    venue = CcxtVenue(
        sandbox_capabilities(protocol),
        base_url=base_url,
        timeout_ms=timeout_ms,
        markets_max_age=cadence.cycle_seconds,
        clock=clock,  # the replay's time: fill histories are walked up to it
    )
    public = CcxtExchangeClient(venue.caps, None, venue=venue)
    executor = None
    on_close: list[Hook] = [public.close, venue.close]
    concurrency = (timeouts or Timeouts()).max_concurrent_users
    clients: dict[int, ExchangeClient]
    if broker_url is not None:
        from qari.adapters.tasks import QUEUE, TaskExecutor

        executor = TaskExecutor(
            database_url, clock, broker_url=broker_url, queue=queue or QUEUE, timeouts=timeouts
        )
        on_close.insert(0, executor.close)
        # The queue holds the cycle's units; the workers' threads bound how many run at once.
        timeouts = replace(timeouts or Timeouts(), max_concurrent_users=max(concurrency, len(accounts)))
        clients = dict.fromkeys(accounts, cast(ExchangeClient, _NoClient(SANDBOX)))  # clients: in workers
    else:
        clients = {user_id: sandbox_client(venue, *account) for user_id, account in accounts.items()}
    return await static_run(
        EngineMode.SANDBOX,
        clock=clock,
        sleep_until=sleep_until,
        cadence=cadence,
        feed=ExchangeMarketFeed(public, symbols=symbols),
        clients=clients,
        exchange_id=public.exchange_id,
        database_url=database_url,
        recorder=recorder or NullRecorder(),
        timeouts=timeouts,
        on_close=on_close,
        executor=executor,
        record_decisions="analyse" if record_decisions else None,
        sandbox_protocol=protocol,
    )


def sandbox_client(venue: Any, api_key: str, secret: str, passphrase: str | None = None) -> ExchangeClient:
    """A user's client on the sandbox, in the protocol the shared `venue` speaks."""
    from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, Credentials

    async def credentials() -> Credentials:
        return Credentials(api_key, secret, passphrase)

    return CcxtExchangeClient(venue.caps, credentials, venue=venue)


class _NoClient:
    """Stands for a user whose client lives in a worker process (closing it closes nothing)."""

    def __init__(self, exchange_id: str) -> None:
        self.exchange_id = exchange_id

    async def close(self) -> None:
        return None


def venue_execution_config(sandbox_protocol: str = "bybit") -> ExecutionConfig:
    """Execution settings with every venue's client-id rules, spot-stop kind and stop-limit offset (from
    the venue data), the sandbox's those of the protocol it speaks."""
    from qari.adapters.exchanges.capabilities import venues_for
    from qari.core.orders import SpotStopKind

    venues = venues_for(sandbox_protocol).values()
    return ExecutionConfig(
        client_ids={v.id: v.client_ids for v in venues},
        spot_stops={v.id: v.spot_stop for v in venues},
        stop_limit_offsets={
            v.id: v.stop_limit_offset for v in venues if v.spot_stop is SpotStopKind.STOP_LIMIT
        },
    )


# ------------------------------------------------------------------------- live / sandbox (web process)


def live_units(
    sessions: Any,
    db_engine: Any,
    vault: Any,
    clock: Clock,
    endpoints: Any,
    venues: Mapping[str, Any],
    metrics: EngineMetrics,
    cycle_seconds: int,
    *,
    config: ExecutionConfig,
    personal: Any = None,
) -> Any:
    """The users' units of work on stored connections (keys from the vault): in `qari serve`'s
    engine, or in a `qari worker`. `personal`: Premium users' blended weights (learning stages)."""
    from qari.adapters.locks import entry_lock_for
    from qari.adapters.persistence.repositories.trading import SqlTradingStore
    from qari.engine.guard import OrderGuard
    from qari.engine.units import ExecutionUnits
    from qari.services.engine_ports import ConnectionClients, platform_operator
    from qari.services.trading_profiles import SqlProfileSource

    return ExecutionUnits(
        clients=ConnectionClients(sessions, vault, endpoints, dict(venues)),
        profiles=SqlProfileSource(sessions),  # gate check 16: services.exchange_keys.key_facts
        store=SqlTradingStore(sessions),
        locks=entry_lock_for(db_engine, sessions, clock),
        clock=clock,
        metrics=metrics,
        reconcile_every=dt.timedelta(seconds=cycle_seconds),
        config=config,
        guard=OrderGuard(operator=functools.partial(platform_operator, sessions)),
        personal=personal,
    )


async def build_engine(
    settings: Settings,
    mode: EngineMode,
    *,
    sessions: Any,
    db_engine: Any,
    vault: Any,
    sandbox_venue: Callable[[], Any] | None = None,
    broker_url: str | None = None,
) -> Engine:
    """Live or sandbox mode inside the web process: users, keys and journal from the database.

    With `broker_url` (the `qari scheduler` role) the users' units go to the task engine's workers
    (`adapters/tasks.py`) instead of running here."""
    from qari.adapters.exchanges.capabilities import LIVE_VENUES
    from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, CcxtVenue
    from qari.adapters.persistence.cycles import SqlCycleRecorder
    from qari.adapters.persistence.decisions import refresh_scoring, with_decisions
    from qari.adapters.persistence.learning import ActiveScoring, personal_weights_of
    from qari.adapters.simulator.app import sandbox_base_url
    from qari.services.engine_ports import HourlyChecks, SqlUserDirectory
    from qari.services.exchange_keys import ConnectionVerifier, Endpoints

    if mode is EngineMode.BACKTEST:
        raise ValueError("backtests are built with qari.backtest.wiring.build_backtest(...)")
    endpoints = (
        Endpoints(base_urls={SANDBOX: sandbox_base_url(settings)}, sandbox_protocol=settings.sandbox_protocol)
        if settings.sandbox_mounted
        else Endpoints()
    )
    clock: Clock
    if mode is EngineMode.SANDBOX:
        if sandbox_venue is None:
            raise ValueError("sandbox mode needs the built-in sandbox (QARI_SANDBOX_ENABLED=true)")
        venue_clock = VenueClock(sandbox_venue().clock)
        clock = venue_clock
        sleep_until: SleepUntil = VenueSleeper(venue_clock)
        exchanges: tuple[str, ...] = (SANDBOX,)
        settle = 0.0
    else:
        clock = WallClock()
        sleep_until = RealTimeSleeper(clock)
        exchanges = LIVE_VENUES
        settle = 2.0
    cadence = cadence_from(settings.cycle_seconds, settings.manage_seconds, settle=settle)
    # One venue per exchange for the feed and every user's client: one HTTP connection pool per exchange
    # and its markets loaded once per cycle for everybody.
    venues = {
        x: CcxtVenue(
            endpoints.capabilities(x),
            base_url=endpoints.url_for(x),
            markets_max_age=cadence.cycle_seconds,
            clock=clock if x == SANDBOX else None,  # the sandbox's market clock (a replay may lag)
        )
        for x in exchanges
    }
    publics = [CcxtExchangeClient(venues[x].caps, None, venue=venues[x]) for x in exchanges]
    metrics = EngineMetrics()
    health = HealthTracker()

    scoring = ActiveScoring(sessions)  # the registry's active version, re-read each cycle
    await scoring.refresh()
    executor: Any
    if broker_url is not None:
        from qari.adapters.tasks import TaskExecutor

        executor = TaskExecutor(settings.resolved_database_url, clock, broker_url=broker_url)
    else:
        executor = live_units(
            sessions,
            db_engine,
            vault,
            clock,
            endpoints,
            venues,
            metrics,
            cadence.cycle_seconds,
            config=venue_execution_config(settings.sandbox_protocol),
            personal=lambda profile: personal_weights_of(sessions, scoring.weights, profile),
        )
    directory = SqlUserDirectory(sessions)
    recorder = with_decisions(
        sessions,
        SqlCycleRecorder(sessions, clock),
        retention_days=settings.decision_retention_days,
        weights=scoring.weights,
        model=scoring.model_version,
    )
    cycle = EngineCycle(
        mode=mode.value,
        clock=clock,
        feeds=[ExchangeMarketFeed(p, with_book=True) for p in publics],
        analyse=scoring.analyse,
        directory=directory,
        executor=executor,
        recorder=recorder,
        verifier=HourlyChecks(ConnectionVerifier(sessions, vault, clock, endpoints), sessions),
        health=health,
        metrics=metrics,
        refresh=functools.partial(refresh_scoring, scoring, recorder),
    )

    async def reconcile_all() -> None:
        for exchange_id in exchanges:
            for unit in await directory.units(exchange_id):
                try:
                    await executor.reconcile(unit)
                except Exception as e:  # one user's venue trouble must not keep the engine from starting
                    log.warning(
                        "start-up reconciliation failed for user %d: %s", unit.user_id, type(e).__name__
                    )

    async def close_publics() -> None:
        for public in publics:
            await public.close()
        for venue in venues.values():
            await venue.close()

    on_close: list[Hook] = [close_publics, *([executor.close] if broker_url is not None else [])]
    engine = assemble(mode, clock, sleep_until, cadence, cycle, on_start=[reconcile_all], on_close=on_close)
    if isinstance(sleep_until, VenueSleeper):
        sleep_until.stopping = engine._stop
    return engine


@dataclass(slots=True)
class WebEngine:
    """The engine handle the web process keeps: /healthz reads `status`, shutdown calls `stop`."""

    mode: str
    engine: Engine | None = None
    error: str | None = None

    def status(self) -> dict[str, object]:
        if self.engine is None:
            return {
                "mode": self.mode,
                "state": "off" if self.error is None else "failed",
                "error": self.error,
            }
        return self.engine.status()

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop()


async def start_web_engine(
    settings: Settings, *, sessions: Any, db_engine: Any, vault: Any, sandbox_venue: Callable[[], Any] | None
) -> WebEngine:
    """The engine of `qari serve` (`QARI_ENGINE_MODE`: sandbox by default, live, or off), cycling in the
    background. A failure to start is logged and shown on /healthz; it never takes the web app down."""
    handle = WebEngine(settings.engine_mode)
    if settings.engine_mode == "off":
        return handle
    try:
        handle.engine = await build_engine(
            settings,
            EngineMode(settings.engine_mode),
            sessions=sessions,
            db_engine=db_engine,
            vault=vault,
            sandbox_venue=sandbox_venue,
        )
        await handle.engine.start()
    except Exception as e:
        handle.engine = None
        handle.error = f"{type(e).__name__}: {e}"
        log.error("the %s engine did not start: %s", settings.engine_mode, handle.error)
        return handle
    log.info("engine started", extra={"mode": settings.engine_mode})
    return handle
