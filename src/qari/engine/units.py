"""The per-user unit of work: one user's gate and orders on one exchange, from the shared scan.

`ExecutionUnits` is the engine's `UserExecutor`: for each unit it opens that user's exchange client,
loads the user's trading profile, reconciles once per cycle, then hands every candidate of the scan
to `qari.engine.execution.UserExecution` (gate → sizing → orders) and reports each gate outcome.
Management (exits, stops, expiries) runs the same way on the management cadence.

A unit needs only its `UserUnit` and the scan, both plain data, so a distributed worker could run it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Protocol

import numpy as np

from qari.core.instrument import InstrumentRules
from qari.core.time import last_closed_open_ms, to_ms
from qari.engine.cycle import ExchangeScan, GateOutcome, UserOutcome, UserUnit, VerdictLike
from qari.engine.execution import ExecutionConfig, UserExecution
from qari.engine.metrics import EngineMetrics
from qari.engine.reconciliation import reconcile
from qari.ports import Clock, EntryLock, ExchangeClient, ProfileSource, TradingStore
from qari.risk.profile import TradingProfile

log = logging.getLogger("qari.engine.units")

CORRELATION_DAYS = 31


class ClientSource(Protocol):
    """A user's exchange client for the length of one unit (keys decrypted only inside it)."""

    def client(self, unit: UserUnit) -> AbstractAsyncContextManager[ExchangeClient]: ...


def daily_closes(scan: ExchangeScan) -> dict[str, tuple[float, ...]]:
    """Closed daily closes per symbol from the shared snapshots (correlation check, no per-user fetch)."""
    cut = last_closed_open_ms(to_ms(scan.at), "1d")
    out: dict[str, tuple[float, ...]] = {}
    for symbol, snapshot in scan.snapshots.items():
        series = snapshot.series.get("1d")
        if series is None:
            continue
        n = int(np.searchsorted(series.ts, cut, side="right"))
        out[symbol] = tuple(float(c) for c in series.close[max(0, n - CORRELATION_DAYS) : n])
    return out


def layer_dicts(verdict: VerdictLike) -> list[dict[str, object]]:
    return [
        dict(r.to_dict()) if hasattr(r, "to_dict") else {"layer": getattr(r, "layer", None)}
        for r in verdict.layers
    ]


class ExecutionUnits:
    def __init__(
        self,
        *,
        clients: ClientSource,
        profiles: ProfileSource,
        store: TradingStore,
        locks: EntryLock,
        clock: Clock,
        config: ExecutionConfig | None = None,
        metrics: EngineMetrics | None = None,
        reconcile_every: dt.timedelta = dt.timedelta(minutes=5),
    ) -> None:
        self.clients = clients
        self.profiles = profiles
        self.store = store
        self.locks = locks
        self.clock = clock
        self.config = config or ExecutionConfig()
        self.metrics = metrics or EngineMetrics()
        self.reconcile_every = reconcile_every
        self._reconciled: dict[UserUnit, dt.datetime] = {}
        self._markets: dict[str, Mapping[str, InstrumentRules]] = {}

    def _execution(self, exchange: ExchangeClient) -> UserExecution:
        return UserExecution(exchange, self.store, self.locks, self.clock, self.config)

    async def _markets_for(self, unit: UserUnit, exchange: ExchangeClient) -> Mapping[str, InstrumentRules]:
        markets = self._markets.get(unit.exchange_id)
        if markets is None:
            markets = self._markets[unit.exchange_id] = await exchange.load_markets()
        return markets

    async def enter(self, unit: UserUnit, scan: ExchangeScan) -> UserOutcome:
        candidates = scan.candidates()
        if not candidates:
            return UserOutcome()  # nothing to gate: no venue call at all
        outcomes: list[GateOutcome] = []
        sent = 0
        profile = await self.profiles.profile(unit.user_id, unit.exchange_id, self.clock.now())
        async with self.clients.client(unit) as exchange:
            execution = self._execution(exchange)
            markets = await self._markets_for(unit, exchange)
            closes = daily_closes(scan)
            for verdict in candidates:
                started = time.perf_counter()
                outcome = await execution.enter(
                    profile,
                    verdict.candidate,
                    layer_results=layer_dicts(verdict),
                    markets=markets,
                    daily_closes=closes,
                )
                blocking = outcome.decision.blocking
                outcomes.append(
                    GateOutcome(
                        verdict.symbol,
                        outcome.decision.passed,
                        None if blocking is None else blocking.code,
                        outcome.decision.headline,
                    )
                )
                if outcome.position is not None:
                    sent += 1
                    self.metrics.observe("order_latency", time.perf_counter() - started, {"kind": "entry"})
        return UserOutcome(gate=tuple(outcomes), orders_sent=sent)

    async def _has_open_positions(self, unit: UserUnit) -> bool:
        """Orders are journaled before they are sent, so a user without an open position in the
        journal has nothing on the venue to reconcile or manage."""
        return bool(await self.store.open_positions(unit.user_id, unit.exchange_id))

    async def manage(self, unit: UserUnit, at: dt.datetime) -> None:
        """Exits, stops and expiries; once per cycle interval a full reconciliation instead (it ends in
        the same management pass), so the venue is reconciled every cycle without a second pass."""
        if not await self._has_open_positions(unit):
            return
        last = self._reconciled.get(unit)
        if last is None or at - last >= self.reconcile_every:
            await self.reconcile(unit, at)
            return
        profile = await self.profiles.profile(unit.user_id, unit.exchange_id, self.clock.now())
        async with self.clients.client(unit) as exchange:
            started = time.perf_counter()
            await self._execution(exchange).manage(profile)
            self.metrics.observe("manage_unit", time.perf_counter() - started)

    async def reconcile(self, unit: UserUnit, at: dt.datetime | None = None) -> None:
        """Reconcile one user with the venue: at start-up (fills while the platform was down are
        booked) and once per cycle."""
        profile = await self.profiles.profile(unit.user_id, unit.exchange_id, self.clock.now())
        async with self.clients.client(unit) as exchange:
            started = time.perf_counter()
            await reconcile(self._execution(exchange), profile)
            self.metrics.observe("reconcile_unit", time.perf_counter() - started)
        self._reconciled[unit] = at or self.clock.now()


class StaticDirectory:
    """A fixed set of units (backtests, benchmarks, the offline demo)."""

    def __init__(self, units: list[UserUnit]) -> None:
        self._units = list(units)

    async def units(self, exchange_id: str) -> list[UserUnit]:
        return [u for u in self._units if u.exchange_id == exchange_id]


class StaticProfiles:
    """One profile template per user; the key counts as re-verified at every read (no real key)."""

    def __init__(
        self, template: TradingProfile, overrides: Mapping[int, TradingProfile] | None = None
    ) -> None:
        self.template = template
        self.overrides = dict(overrides or {})

    async def profile(self, user_id: int, exchange_id: str, now: dt.datetime) -> TradingProfile:
        base = self.overrides.get(user_id, self.template)
        return replace(base, user_id=user_id, exchange_id=exchange_id, permissions_verified_at=now)


class StaticClients:
    """Clients held for the engine's lifetime, one per user (closed by the engine, not per unit)."""

    def __init__(self, clients: Mapping[int, ExchangeClient]) -> None:
        self.clients = dict(clients)

    def client(self, unit: UserUnit) -> AbstractAsyncContextManager[ExchangeClient]:
        return _Borrowed(self.clients[unit.user_id])

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()


class _Borrowed:
    def __init__(self, client: ExchangeClient) -> None:
        self._client = client

    async def __aenter__(self) -> ExchangeClient:
        return self._client

    async def __aexit__(self, *_: object) -> None:
        return None
