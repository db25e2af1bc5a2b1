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
import functools
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from qari.config import Settings
from qari.core.clocks import ManualClock, WallClock
from qari.core.time import Clock, from_ms, to_ms
from qari.engine.cycle import EngineCycle, Timeouts, analyse_exchange
from qari.engine.execution import ExecutionConfig
from qari.engine.health import HealthTracker
from qari.engine.market_feed import ExchangeMarketFeed
from qari.engine.metrics import EngineMetrics
from qari.engine.scheduler import Cadence, RealTimeSleeper, Scheduler, SchedulerState, SleepUntil
from qari.ports import ExchangeClient, ExchangeScan, NullRecorder, UserUnit
from qari.risk.profile import TradingProfile

log = logging.getLogger("qari.engine.kernel")

SANDBOX = "sandbox"  # the built-in venue (speaking QARI_SANDBOX_PROTOCOL), in-process or over HTTP

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
        await self.stop_cycling(timeout)
        await self.close()

    async def stop_cycling(self, timeout: float = 10.0) -> None:
        """No new cycle; the one in flight gets `timeout` seconds, then is cut off."""
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception as e:  # already logged by run(); stopping must still release resources
                log.warning("engine task ended with %s", type(e).__name__)

    async def close(self) -> None:
        """Release what the engine owns (exchange sessions, pools): after `stop_cycling`."""
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
            "failing_ticks": sched.failing,
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


# ---------------------------------------------------------------------------------- shared wiring


async def _database(database_url: str, concurrent_units: int = 0) -> tuple[Any, Any]:
    from qari.adapters.persistence import migrate
    from qari.adapters.persistence.db import engine_pool, make_engine, make_sessionmaker

    await asyncio.to_thread(migrate.upgrade, database_url)
    db = make_engine(database_url, **engine_pool(database_url, concurrent_units))
    return db, make_sessionmaker(db)


async def _ensure_users(sessions: Any, user_ids: Sequence[int]) -> None:
    """Static users (backtests, stepped sandbox runs, benchmarks) get a row: the journal refers to it."""
    from sqlalchemy import select

    from qari.adapters.persistence.tables.accounts import User

    async with sessions() as session, session.begin():
        known = set((await session.execute(select(User.id).where(User.id.in_(list(user_ids))))).scalars())
        session.add_all(
            User(
                id=user_id,
                email=f"engine-user-{user_id}@qari.invalid",
                password_hash="!",  # noqa: S106 - no login: "!" matches no Argon2 hash
                plan_tier="premium",
                trial_ends_at=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
                waiver=True,
            )
            for user_id in user_ids
            if user_id not in known
        )


def default_profile(user_id: int, exchange_id: str) -> TradingProfile:
    return TradingProfile(user_id=user_id, exchange_id=exchange_id, waiver=True)


async def _journal(
    database_url: str | None, user_ids: Sequence[int], clock: Clock, concurrent_units: int = 0
) -> tuple[Any, Any, Any, Any]:
    """(store, entry lock, db, sessions): the SQL journal, or, with no database (backtests), memory."""
    if database_url is None:
        from qari.adapters.persistence.memory import MemoryEntryLock, MemoryTradingStore

        return MemoryTradingStore(), MemoryEntryLock(), None, None
    from qari.adapters.locks import entry_lock_for
    from qari.adapters.persistence.repositories.trading import SqlTradingStore

    db, sessions = await _database(database_url, concurrent_units)
    await _ensure_users(sessions, user_ids)
    return SqlTradingStore(sessions), entry_lock_for(db, sessions, clock), db, sessions


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
    units: Any  # ExecutionUnits, or the task engine's executor
    local: Any = None  # this process's ExecutionUnits over `clients` (with the task engine too)


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
    shared: Any = None,
) -> StaticRun:
    """`record_decisions`: store decision records (`analyse` or `screen`, the analysis entry point
    in use) in the journal's database; needs a `database_url`."""
    from qari.analysis.engine import analyse as full_analysis
    from qari.engine.units import ExecutionUnits, StaticClients, StaticDirectory, StaticProfiles

    store, locks, db, sessions = await _journal(
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
    local = ExecutionUnits(
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
    executor = executor or local
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
        shared=shared,
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
    return StaticRun(engine, clock, store, sessions, db, recorder, clients, executor, local)


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
    if broker_url is not None:
        from qari.adapters.tasks import QUEUE, TaskExecutor

        executor = TaskExecutor(
            database_url, clock, broker_url=broker_url, queue=queue or QUEUE, timeouts=timeouts
        )
        on_close.insert(0, executor.close)
        # The queue holds the cycle's units; the workers' threads bound how many run at once.
        timeouts = replace(timeouts or Timeouts(), max_concurrent_users=max(concurrency, len(accounts)))
        run = await static_run(
            EngineMode.SANDBOX,
            clock=clock,
            sleep_until=sleep_until,
            cadence=cadence,
            feed=ExchangeMarketFeed(public, symbols=symbols),
            # The units run in the workers; these clients only while the broker is down (exits, stops).
            clients={user_id: _sandbox_client(venue, *account) for user_id, account in accounts.items()},
            exchange_id=public.exchange_id,
            database_url=database_url,
            recorder=recorder or NullRecorder(),
            timeouts=timeouts,
            on_close=on_close,
            executor=executor,
            record_decisions="analyse" if record_decisions else None,
            sandbox_protocol=protocol,
            shared=executor,  # each cycle's analysis: a worker's task too
        )
        executor.manage_here_without_broker(_here(run.local, run.db))
        return run
    clients: dict[int, ExchangeClient] = {
        user_id: _sandbox_client(venue, *account) for user_id, account in accounts.items()
    }
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
        record_decisions="analyse" if record_decisions else None,
        sandbox_protocol=protocol,
    )


def _here(units: Any, db: Any) -> Any:
    """The scheduler's own units for management while the broker is down (`TaskExecutor`)."""
    from qari.adapters.tasks import WorkerParts

    async def nothing() -> None:  # the engine closes its clients and database itself
        return None

    return WorkerParts(units, lambda _now: None, nothing, db)


def _sandbox_client(venue: Any, api_key: str, secret: str, passphrase: str | None = None) -> ExchangeClient:
    """A user's client on the sandbox, in the protocol the shared `venue` speaks."""
    from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, Credentials

    async def credentials() -> Credentials:
        return Credentials(api_key, secret, passphrase)

    return CcxtExchangeClient(venue.caps, credentials, venue=venue)


@dataclass(frozen=True, slots=True)
class SandboxWorkerSpec:
    """What a `qari worker` process needs to run sandbox users' units (a JSON file named by
    `QARI_WORKER_SPEC`): the venue, the users' sandbox keys and the journal. `connections` (user ->
    stored connection id) are users whose keys are sealed in the database: their units' private calls
    go through the worker's signer, as a live worker's do (tests, and benchmarks of the signer hop)."""

    base_url: str
    timeout_ms: int
    accounts: dict[int, tuple[str, ...]]
    database_url: str
    exchange_id: str
    cycle_seconds: int
    concurrency: int
    stepped: bool
    protocol: str = "bybit"
    connections: dict[int, int] = field(default_factory=dict)
    symbols: tuple[str, ...] | None = None  # the analysis task's fixed pairs (None: the liquid universe)

    def to_json(self) -> str:
        return json.dumps(
            {
                **asdict(self),
                "accounts": {str(u): list(a) for u, a in self.accounts.items()},
                "connections": {str(u): c for u, c in self.connections.items()},
            }
        )

    @classmethod
    def from_json(cls, data: str) -> SandboxWorkerSpec:
        raw = json.loads(data)
        accounts = {int(u): tuple(str(x) for x in a) for u, a in raw.pop("accounts").items()}
        connections = {int(u): int(c) for u, c in raw.pop("connections", {}).items()}
        symbols = raw.pop("symbols", None)
        return cls(
            accounts=accounts,
            connections=connections,
            symbols=None if symbols is None else tuple(symbols),
            **raw,
        )


def worker_spec() -> SandboxWorkerSpec | None:
    """The sandbox spec named by `QARI_WORKER_SPEC`, or None (a live worker)."""
    where = os.environ.get(WORKER_SPEC_ENV)
    return SandboxWorkerSpec.from_json(Path(where).read_text()) if where else None


WORKER_SPEC_ENV = "QARI_WORKER_SPEC"


def sandbox_worker_env(
    spec: SandboxWorkerSpec, directory: Path, broker_url: str, queue: str
) -> dict[str, str]:
    """The environment of a sandbox `qari worker`: its spec written to `directory` (0600: keys)."""
    path = directory / "qari-worker-spec.json"
    path.touch(mode=0o600)
    path.write_text(spec.to_json())
    return {WORKER_SPEC_ENV: str(path), "QARI_BROKER_URL": broker_url, "QARI_TASK_QUEUE": queue}


def _analysis_task(
    feeds: Mapping[str, Any], analyse: Any, refresh: Callable[[], Awaitable[object]] | None = None
) -> Callable[[str, dt.datetime], Awaitable[ExchangeScan]]:
    """A worker's analysis task: this process's feed of the exchange, analysed as in `qari serve`
    (`refresh`: pick up a newly activated model version first, as the serve cycle does)."""

    async def run(exchange_id: str, at: dt.datetime) -> ExchangeScan:
        if refresh is not None:
            await refresh()
        limit = Timeouts().refresh_seconds
        return await analyse_exchange(feeds[exchange_id], analyse, at, refresh_seconds=limit)

    return run


async def worker_parts(threads: int, keyring: Any = None) -> Any:
    """A `qari worker` process's units of work (`adapters/tasks.py`): from its sandbox spec when
    `QARI_WORKER_SPEC` names one, else the stored users' live connections. `keyring`: the worker's
    signer (`SignerClient`), which performs every private call of a stored connection; this process
    never opens the vault."""
    from qari.adapters.exchanges.capabilities import sandbox_capabilities
    from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, CcxtVenue
    from qari.adapters.locks import entry_lock_for
    from qari.adapters.persistence.db import make_engine, make_sessionmaker
    from qari.adapters.persistence.repositories.trading import SqlTradingStore
    from qari.adapters.tasks import WorkerParts
    from qari.engine.units import ExecutionUnits, StaticClients, StaticProfiles

    spec = worker_spec()
    if spec is None:
        return await _live_worker_parts(threads, keyring)
    clock: Clock = ManualClock(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) if spec.stepped else WallClock()
    # Per unit in flight: its user lock and its entry locks hold one connection each, the journal
    # briefly a third; no overflow, so K workers never take more than K * pool_size server slots.
    db = make_engine(spec.database_url, pool_size=2 * threads + 4, max_overflow=0)
    sessions = make_sessionmaker(db)
    venue = CcxtVenue(
        sandbox_capabilities(spec.protocol),
        base_url=spec.base_url,
        timeout_ms=spec.timeout_ms,
        markets_max_age=spec.cycle_seconds,
        clock=clock,
    )
    clients: Any = StaticClients(
        {user_id: _sandbox_client(venue, *account) for user_id, account in spec.accounts.items()}
    )
    if spec.connections:
        from qari.services.exchange_keys import Endpoints

        if keyring is None:
            raise ValueError("stored connections need the worker's signer")
        endpoints = Endpoints(
            {spec.exchange_id: spec.base_url}, timeout_ms=spec.timeout_ms, sandbox_protocol=spec.protocol
        )
        stored = ConnectionClients(sessions, keyring, endpoints, {spec.exchange_id: venue})
        clients = NamedConnections(stored, spec.connections, clients)
    units = ExecutionUnits(
        clients=clients,
        profiles=StaticProfiles(
            default_profile(0, spec.exchange_id),
            {u: default_profile(u, spec.exchange_id) for u in [*spec.accounts, *spec.connections]},
        ),
        store=SqlTradingStore(sessions),
        locks=entry_lock_for(db, sessions, clock),
        clock=clock,
        reconcile_every=dt.timedelta(seconds=spec.cycle_seconds),
        config=venue_execution_config(spec.protocol),
    )

    def set_now(now: dt.datetime) -> None:
        # Forward only: a cycle's analysis task runs ahead of units of the cycle before (priority).
        if isinstance(clock, ManualClock) and now > clock.now():
            clock.set(now)

    from qari.analysis.engine import analyse as full_analysis

    public = CcxtExchangeClient(venue.caps, None, venue=venue)
    feed = ExchangeMarketFeed(public, symbols=spec.symbols)

    async def close() -> None:
        await clients.close()
        await public.close()
        await venue.close()
        await db.dispose()

    return WorkerParts(units, set_now, close, db, _analysis_task({spec.exchange_id: feed}, full_analysis))


async def _live_worker_parts(threads: int, keyring: Any) -> Any:
    from qari.adapters.exchanges.capabilities import LIVE_VENUES
    from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, CcxtVenue
    from qari.adapters.persistence.db import make_engine, make_sessionmaker
    from qari.adapters.tasks import BROKER_ENV, WorkerParts
    from qari.config import get_settings
    from qari.services.exchange_keys import Endpoints

    if keyring is None:
        raise ValueError("a live worker trades through its signer (`qari worker` starts or reaches one)")
    settings = get_settings()
    share_request_budgets(settings, os.environ.get(BROKER_ENV, ""))
    db = make_engine(settings.resolved_database_url, pool_size=2 * threads + 4, max_overflow=0)
    sessions = make_sessionmaker(db)
    endpoints = Endpoints(sandbox_protocol=settings.sandbox_protocol)
    cadence = cadence_from(settings.cycle_seconds, settings.manage_seconds, settle=2.0)
    venues = {
        x: CcxtVenue(x, base_url=endpoints.url_for(x), markets_max_age=cadence.cycle_seconds)
        for x in LIVE_VENUES
    }
    from qari.adapters.persistence.learning import ActiveScoring

    scoring = ActiveScoring(sessions)  # Premium users' personal weights blend toward the active version
    await scoring.refresh()
    units = live_units(
        sessions,
        db,
        keyring,
        WallClock(),
        endpoints,
        venues,
        EngineMetrics(),
        cadence.cycle_seconds,
        config=venue_execution_config(settings.sandbox_protocol),
        personal=lambda profile: _personal_weights(sessions, scoring.weights, profile),
    )

    publics = {x: CcxtExchangeClient(v.caps, None, venue=v) for x, v in venues.items()}
    feeds = {x: ExchangeMarketFeed(p, with_book=True) for x, p in publics.items()}  # as build_engine's

    async def close() -> None:
        for public in publics.values():
            await public.close()
        for venue in venues.values():
            await venue.close()
        await db.dispose()

    analysis = _analysis_task(feeds, scoring.analyse, scoring.refresh)
    return WorkerParts(units, lambda _now: None, close, db, analysis)


def share_request_budgets(settings: Settings, broker_url: str) -> None:
    """The live roles' request budgets (per exchange + key, per exchange + egress IP) shared by every
    `qari worker` and the scheduler through Redis (`throttle.request_budget_url`); `qari serve` and the
    sandbox workers keep the process's own."""
    from qari.adapters.exchanges.throttle import request_budget_url, use_redis_budgets

    url = request_budget_url(settings.redis_url, broker_url)
    if url is None:
        log.warning(
            "request budgets are per process: set QARI_REDIS_URL so the workers share one per key and IP"
        )
        return
    use_redis_budgets(url)


DRAIN_SECONDS = 2.0  # a stopping scheduler's cycle in flight, before the standby may lead


async def run_scheduler(settings: Settings, broker_url: str, stop: asyncio.Event, keyring: Any) -> None:
    """`qari scheduler`: once leader, the live engine's cycles, management ticks and hourly key
    checks, with every user's unit sent to the workers; until `stop` is set. `keyring`: its signer
    (the hourly key checks are the signer's `check_stored`); this process never opens the vault."""
    from qari.adapters.persistence import migrate
    from qari.adapters.persistence.db import make_engine, make_sessionmaker
    from qari.adapters.tasks import scheduler_leadership

    share_request_budgets(settings, broker_url)
    url = settings.resolved_database_url
    await asyncio.to_thread(migrate.upgrade, url)
    db = make_engine(url)
    sessions = make_sessionmaker(db)
    try:
        async with scheduler_leadership(db, stop) as leading:
            if not leading:
                return
            engine = await build_engine(
                settings,
                EngineMode.LIVE,
                sessions=sessions,
                db_engine=db,
                vault=keyring,
                broker_url=broker_url,
            )
            try:
                await engine.start()
                await stop.wait()
                # Drain: the cycle in flight gets a moment, then is cut off (the units it already sent
                # stay on the broker and run on the workers; they are keyed, so a standby's cycle
                # does nothing twice). The lead is released before the slower clean-up below.
                await engine.stop_cycling(timeout=DRAIN_SECONDS)
            except BaseException:
                await engine.stop_cycling(timeout=0)
                await engine.close()
                raise
        await engine.close()
    finally:
        await db.dispose()


# ------------------------------------------------------------------------- live / sandbox (web process)


class VenueClock:
    """The in-process sandbox's market clock (replay, possibly accelerated) as the engine's Clock, so
    the engine's cycles follow the candles the venue serves."""

    def __init__(self, market_clock: Any) -> None:
        self.market_clock = market_clock

    def now(self) -> dt.datetime:
        return from_ms(int(self.market_clock.now_ms()))

    @property
    def speed(self) -> float:
        """How fast the market runs now (the sandbox admin API may change it; stepped clocks: 1)."""
        return float(getattr(self.market_clock, "speed", 1.0))


class VenueSleeper:
    """Waits until the sandbox's market clock reaches an instant, at whatever speed it runs now; gives
    up early once `stopping` is set, so stopping the engine never waits for a distant boundary."""

    def __init__(
        self, clock: VenueClock, max_nap: float = 0.5, stopping: asyncio.Event | None = None
    ) -> None:
        self.clock = clock
        self.max_nap = max_nap
        self.stopping = stopping

    async def __call__(self, until: dt.datetime) -> None:
        while (remaining := (until - self.clock.now()).total_seconds()) > 0:
            if self.stopping is not None and self.stopping.is_set():
                return
            await asyncio.sleep(min(self.max_nap, remaining / self.clock.speed))


class SqlUserDirectory:
    """Every stored connection that can still trade or needs managing on an exchange
    (`services.exchange_keys.active_connections`: the one definition of which keys the engine works for)."""

    def __init__(self, sessions: Any) -> None:
        self.sessions = sessions

    async def units(self, exchange_id: str) -> list[UserUnit]:
        from qari.services.exchange_keys import active_connections

        async with self.sessions() as session:
            active = await active_connections(session, exchange_id)
        seen: set[int] = set()
        units = []
        for user_id, connection_id in active:
            if user_id not in seen:  # one connection per user and exchange trades
                seen.add(user_id)
                units.append(UserUnit(user_id, exchange_id, connection_id))
        return units


class ConnectionClients:
    """A user's client per unit of work, opened from the vault and closed when the unit ends."""

    def __init__(
        self, sessions: Any, vault: Any, endpoints: Any, venues: Mapping[str, Any] | None = None
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self.endpoints = endpoints
        self.venues = dict(venues or {})

    @asynccontextmanager
    async def client(self, unit: UserUnit) -> AsyncIterator[ExchangeClient]:
        from qari.services.exchange_keys import open_client

        if unit.connection_id is None:
            raise LookupError(f"user {unit.user_id} has no connection on {unit.exchange_id}")
        async with AsyncExitStack() as opened:
            # The session only reads the connection (and its sealed key) to open the client: it is
            # closed before the unit runs, so a unit holds no idle database connection meanwhile
            # (with one, a worker's units exhausted its pool of 2 per unit: pool timeouts).
            async with self.sessions() as session:
                client = await opened.enter_async_context(
                    open_client(
                        session, self.vault, unit.connection_id, unit.user_id, self.endpoints, self.venues
                    )
                )
            yield client


class NamedConnections:
    """Units of sandbox users whose connection a worker spec names (`SandboxWorkerSpec.connections`):
    opened through `ConnectionClients` (the signer); any other user's from `rest`."""

    def __init__(self, stored: ConnectionClients, connections: Mapping[int, int], rest: Any) -> None:
        self.stored = stored
        self.connections = dict(connections)
        self.rest = rest

    def client(self, unit: UserUnit) -> Any:
        connection_id = self.connections.get(unit.user_id)
        if connection_id is None:
            return self.rest.client(unit)
        return self.stored.client(replace(unit, connection_id=connection_id))

    async def close(self) -> None:
        await self.rest.close()


class HourlyChecks:
    """The engine's hourly tick: re-verify keys, queue trial-ending reminders, re-fit Stage 2 when due."""

    def __init__(self, verifier: Any, sessions: Any) -> None:
        self.verifier = verifier
        self.sessions = sessions

    async def reverify_due(self, at: dt.datetime) -> int:
        from qari.services.model_refit import refit_stage2
        from qari.services.plans import queue_trial_ending_alerts

        count: int = await self.verifier.reverify_due(at)
        async with self.sessions() as session, session.begin():
            await queue_trial_ending_alerts(session, at)
        async with self.sessions() as session, session.begin():
            await refit_stage2(session, at)
        return count


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


def _with_decisions(
    settings: Settings, sessions: Any, recorder: Any, weights: Any = None, model: str | None = None
) -> Any:
    """Decision records beside the cycle records, unless retention is 0 (off); `weights` (the
    registry's active version) is what they name, so a replay uses the same weights."""
    from qari.adapters.persistence.decisions import SqlDecisionRecorder

    days = settings.decision_retention_days
    if days <= 0:
        return recorder
    return SqlDecisionRecorder(
        sessions, inner=recorder, retention=dt.timedelta(days=days), weights=weights, model=model
    )


async def _refresh_scoring(scoring: Any, recorder: Any) -> None:
    """Each cycle: a newly activated (or rolled-back) version is analysed with and recorded from now on."""
    from qari.adapters.persistence.decisions import SqlDecisionRecorder

    if await scoring.refresh() and isinstance(recorder, SqlDecisionRecorder):
        recorder.weights, recorder.model = scoring.weights, scoring.model_version


async def _personal_weights(sessions: Any, collective: Any, profile: TradingProfile) -> Any:
    """A Premium user's own weights, blended with the collective active ones (read each cycle)."""
    from qari.adapters.persistence.learning import personal_weights_for

    async with sessions() as session:
        return await personal_weights_for(session, profile.user_id, collective)


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
    from qari.adapters.persistence.tables.accounts import PlatformState
    from qari.engine.guard import OrderGuard
    from qari.engine.units import ExecutionUnits
    from qari.services.trading_profiles import SqlProfileSource

    async def operator() -> int | None:  # whom the guard's halts alert besides the key's owner
        async with sessions() as session:
            state = await session.get(PlatformState, 1)
            return None if state is None else state.operator_user_id

    return ExecutionUnits(
        clients=ConnectionClients(sessions, vault, endpoints, dict(venues)),
        profiles=SqlProfileSource(sessions),  # gate check 16: services.exchange_keys.key_facts
        store=SqlTradingStore(sessions),
        locks=entry_lock_for(db_engine, sessions, clock),
        clock=clock,
        metrics=metrics,
        reconcile_every=dt.timedelta(seconds=cycle_seconds),
        config=config,
        guard=OrderGuard(operator=operator),
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
    from qari.adapters.persistence.learning import ActiveScoring
    from qari.adapters.simulator.app import sandbox_base_url
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
    timeouts = None
    if broker_url is not None:
        from qari.adapters.tasks import TaskExecutor, queued_timeouts

    local = live_units(
        sessions,
        db_engine,
        vault,
        clock,
        endpoints,
        venues,
        metrics,
        cadence.cycle_seconds,
        config=venue_execution_config(settings.sandbox_protocol),
        personal=lambda profile: _personal_weights(sessions, scoring.weights, profile),
    )
    executor = local
    if broker_url is not None:
        timeouts = queued_timeouts(cadence.cycle_seconds, cadence.manage_seconds)
        executor = TaskExecutor(
            settings.resolved_database_url, clock, broker_url=broker_url, timeouts=timeouts
        )
        # Exits and stops need no broker: while it is down the scheduler manages positions itself
        # (through its signer, as a worker would).
        executor.manage_here_without_broker(_here(local, db_engine))
    directory = SqlUserDirectory(sessions)
    recorder = _with_decisions(
        settings, sessions, SqlCycleRecorder(sessions, clock), scoring.weights, scoring.model_version
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
        timeouts=timeouts,
        refresh=functools.partial(_refresh_scoring, scoring, recorder),
        shared=executor if broker_url is not None else None,  # the analysis: a worker's task
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
