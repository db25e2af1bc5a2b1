"""The engine of each scaled-out role (docs/task-engine.md): `run_scheduler` for `qari scheduler` (the
leader's live cycles, every unit sent to the workers) and `worker_parts` for `qari worker` (the units
it runs: the stored users' live connections, or the sandbox users a `SandboxWorkerSpec` names). The
command line around them (signer, signals, probes) is `cli/roles.py`; the parts they are built from
are the composition root's (`engine/kernel.py`), of which this module is the multi-process half.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qari.config import Settings
from qari.core.clocks import ManualClock, WallClock
from qari.core.time import Clock
from qari.engine.kernel import (
    build_engine,
    default_profile,
    live_units,
    sandbox_client,
    venue_execution_config,
)
from qari.engine.metrics import EngineMetrics
from qari.engine.runtime import EngineMode
from qari.engine.scheduler import cadence_from
from qari.ports import UserUnit

if TYPE_CHECKING:
    from qari.services.engine_ports import ConnectionClients

log = logging.getLogger("qari.engine.roles")


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
        return cls(accounts=accounts, connections=connections, **raw)


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


async def worker_parts(threads: int, keyring: Any = None) -> Any:
    """A `qari worker` process's units of work (`adapters/tasks.py`): from its sandbox spec when
    `QARI_WORKER_SPEC` names one, else the stored users' live connections. `keyring`: the worker's
    signer (`SignerClient`), which performs every private call of a stored connection; this process
    never opens the vault."""
    from qari.adapters.exchanges.capabilities import sandbox_capabilities
    from qari.adapters.exchanges.ccxt_client import CcxtVenue
    from qari.adapters.locks import entry_lock_for
    from qari.adapters.persistence.db import make_engine, make_sessionmaker
    from qari.adapters.persistence.repositories.trading import SqlTradingStore
    from qari.adapters.tasks import WorkerParts
    from qari.engine.units import ExecutionUnits, StaticClients, StaticProfiles
    from qari.services.engine_ports import ConnectionClients

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
        {user_id: sandbox_client(venue, *account) for user_id, account in spec.accounts.items()}
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
        if isinstance(clock, ManualClock):
            clock.set(now)

    async def close() -> None:
        await clients.close()
        await venue.close()
        await db.dispose()

    return WorkerParts(units, set_now, close, db)


async def _live_worker_parts(threads: int, keyring: Any) -> Any:
    from qari.adapters.exchanges.capabilities import LIVE_VENUES
    from qari.adapters.exchanges.ccxt_client import CcxtVenue
    from qari.adapters.persistence.db import make_engine, make_sessionmaker
    from qari.adapters.persistence.learning import ActiveScoring, personal_weights_of
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
        personal=lambda profile: personal_weights_of(sessions, scoring.weights, profile),
    )

    async def close() -> None:
        for venue in venues.values():
            await venue.close()
        await db.dispose()

    return WorkerParts(units, lambda _now: None, close, db)


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
