"""The scan cycle: market data once per exchange, analysis once per exchange, then every user's
execution as an independent unit of work.

Everything outside is reached through the small protocols below and in `qari.ports` (the cycle's data:
`ExchangeScan`, `CycleReport`, `CycleRecorder`, units and outcomes); `engine/kernel.py` plugs in the
real ones for live, sandbox and backtest, so this file is the same code in every mode.

Units of work (`UserUnit`) are plain data (user id, exchange, connection id) and each runs with its
own timeout and error boundary, so one user's broken key or slow exchange never delays another. The
same shape lets a distributed task engine run them on other workers later: enqueue the unit, let the
worker call `UserExecutor.enter(unit, scan)`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from qari.analysis.verdict import Verdict
from qari.core.errors import InvalidCredentialsError, PermissionDeniedError, QariError
from qari.core.market import MarketSnapshot
from qari.core.time import Clock
from qari.engine.health import HealthTracker, is_venue_fault
from qari.engine.metrics import EngineMetrics
from qari.engine.scheduler import Tick
from qari.ports import (
    CycleRecorder,
    CycleReport,
    ExchangeScan,
    NullRecorder,
    Timeouts,
    UnitResult,
    UserOutcome,
    UserUnit,
)

log = logging.getLogger("qari.engine.cycle")
T = TypeVar("T")


Analyse = Callable[[MarketSnapshot], Verdict]


class MarketFeed(Protocol):
    """One exchange's market data, shared by all its users: refreshed once per cycle."""

    exchange_id: str

    async def refresh(self, at: dt.datetime) -> Mapping[str, MarketSnapshot]: ...


class UserDirectory(Protocol):
    """Who trades where: the units of work for one exchange this cycle."""

    async def units(self, exchange_id: str) -> Sequence[UserUnit]: ...


class UserExecutor(Protocol):
    """Per-user execution. `enter` gates and places entries; `manage` runs exits, stops and expiries."""

    async def enter(self, unit: UserUnit, scan: ExchangeScan) -> UserOutcome: ...

    async def manage(self, unit: UserUnit, at: dt.datetime) -> None: ...


class SharedAnalysis(Protocol):
    """The per-exchange shared work done elsewhere: the task engine's workers (`adapters/tasks.py`)
    run `analyse_exchange` as a task of its own and store the scan once; this returns it. Raises as
    `analyse_exchange` does when there is no scan (market data unavailable, the task expired)."""

    async def scan(self, exchange_id: str, at: dt.datetime) -> ExchangeScan: ...


async def analyse_exchange(
    feed: MarketFeed,
    analyse: Analyse,
    at: dt.datetime,
    *,
    refresh_seconds: float,
    metrics: EngineMetrics | None = None,
) -> ExchangeScan:
    """One exchange's shared work for the cycle at `at`: market data, then every symbol's analysis
    (one symbol's bad data does not hide the others). Raises when the market data is unavailable;
    the caller keeps the venue's health (the engine process, or the scheduler for a worker's task)."""
    metrics = metrics or EngineMetrics()
    started = time.perf_counter()
    async with asyncio.timeout(refresh_seconds):  # in this task: no task per read
        snapshots = await feed.refresh(at)
    metrics.observe("market_data", time.perf_counter() - started, {"exchange": feed.exchange_id})
    analysed = time.perf_counter()
    scan = ExchangeScan(exchange_id=feed.exchange_id, at=at, snapshots=snapshots)
    for symbol in sorted(snapshots):
        try:
            scan.verdicts[symbol] = analyse(snapshots[symbol])
        except Exception as e:
            metrics.inc("errors", {"kind": "analysis"})
            log.error("analysis failed for %s: %s", symbol, type(e).__name__)
    metrics.observe("analysis", time.perf_counter() - analysed, {"exchange": feed.exchange_id})
    return scan


class KeyVerifier(Protocol):
    """Hourly key re-verification (connect's `reverify_due`)."""

    async def reverify_due(self, at: dt.datetime) -> int: ...


class NoKeyVerifier:
    async def reverify_due(self, at: dt.datetime) -> int:
        return 0


class EngineCycle:
    """Runs one tick of the engine; the scheduler calls `on_tick`, the backtest driver does too."""

    def __init__(
        self,
        *,
        mode: str,
        clock: Clock,
        feeds: Sequence[MarketFeed],
        analyse: Analyse,
        directory: UserDirectory,
        executor: UserExecutor,
        recorder: CycleRecorder | None = None,
        verifier: KeyVerifier | None = None,
        health: HealthTracker | None = None,
        metrics: EngineMetrics | None = None,
        timeouts: Timeouts | None = None,
        refresh: Callable[[], Awaitable[object]] | None = None,
        shared: SharedAnalysis | None = None,
    ) -> None:
        self.mode = mode
        self.shared = shared  # the analysis as a task of its own (the scheduler role); None: here
        self.refresh = refresh  # before each cycle: e.g. pick up a newly activated model version
        self.clock = clock
        self.feeds = list(feeds)
        self.analyse = analyse
        self.directory = directory
        self.executor = executor
        self.recorder = recorder or NullRecorder()
        self.verifier = verifier or NoKeyVerifier()
        self.health = health or HealthTracker()
        self.metrics = metrics or EngineMetrics()
        self.timeouts = timeouts or Timeouts()
        self.last_report: CycleReport | None = None
        self._gate = asyncio.Semaphore(self.timeouts.max_concurrent_users)

    async def on_tick(self, tick: Tick, at: dt.datetime) -> None:
        if tick is Tick.CYCLE:
            await self.run_cycle(at)
        elif tick is Tick.MANAGE:
            await self.run_manage(at)
        else:
            await self.run_reverify(at)

    async def run_cycle(self, at: dt.datetime) -> CycleReport:
        started = time.perf_counter()
        if self.refresh is not None:
            try:
                await self.refresh()
            except Exception as e:  # the registry unreachable: keep scoring with what is loaded
                self.metrics.inc("errors", {"kind": "refresh"})
                log.error("could not refresh the active model version: %s", type(e).__name__)
        report = CycleReport(at=at, mode=self.mode)
        # Market data and analysis only for exchanges somebody trades on, once each for all their users.
        units_of = {feed.exchange_id: await self._units(feed.exchange_id) for feed in self.feeds}
        active = [feed for feed in self.feeds if units_of[feed.exchange_id]]
        report.scans = await _all([self._scan(feed, at) for feed in active])
        for scan in report.scans:
            if not scan.entries_allowed:
                self.metrics.inc("entries_paused", {"exchange": scan.exchange_id})
                continue
            units = units_of[scan.exchange_id]
            report.units.extend(await self._run_units(units, functools.partial(self._enter, scan=scan)))
        report.seconds = time.perf_counter() - started
        self._observe_cycle(report)
        for scan in report.scans:  # health as data: the recorder stores it without asking the tracker
            scan.health = self.health.state(scan.exchange_id).value
        try:
            await self.recorder.record(report)
        except Exception as e:  # the cycle already happened; losing its record must not stop trading
            self.metrics.inc("errors", {"kind": "record_cycle"})
            log.error("could not record cycle: %s", type(e).__name__)
        self.last_report = report
        return report

    async def _enter(self, unit: UserUnit, scan: ExchangeScan) -> UserOutcome:
        return await self.executor.enter(unit, scan)

    async def run_manage(self, at: dt.datetime) -> list[UnitResult]:
        """Exits, stops and expiries for every user, also (especially) when a venue is unhealthy."""
        started = time.perf_counter()
        results: list[UnitResult] = []
        for feed in self.feeds:
            units = await self._units(feed.exchange_id)
            results.extend(
                await self._run_units(
                    units, lambda u: self.executor.manage(u, at), timeout=self.timeouts.manage_seconds
                )
            )
        self.metrics.observe("manage", time.perf_counter() - started)
        return results

    async def run_reverify(self, at: dt.datetime) -> int:
        try:
            count = await self.verifier.reverify_due(at)
        except Exception as e:
            self.metrics.inc("errors", {"kind": "reverify"})
            log.error("key re-verification failed: %s", type(e).__name__)
            return 0
        self.metrics.inc("keys_reverified", amount=count)
        return count

    async def _units(self, exchange_id: str) -> Sequence[UserUnit]:
        try:
            return await self.directory.units(exchange_id)
        except Exception as e:
            self.metrics.inc("errors", {"kind": "directory"})
            log.error("could not list users for %s: %s", exchange_id, type(e).__name__)
            return ()

    async def _scan(self, feed: MarketFeed, at: dt.datetime) -> ExchangeScan:
        exchange_id = feed.exchange_id
        started = time.perf_counter()
        try:
            if self.shared is None:
                scan = await analyse_exchange(
                    feed,
                    self.analyse,
                    at,
                    refresh_seconds=self.timeouts.refresh_seconds,
                    metrics=self.metrics,
                )
            else:  # waited for as a unit is: its queue wait and its work
                scan = await asyncio.wait_for(self.shared.scan(exchange_id, at), self.timeouts.user_seconds)
        except Exception as e:
            self.health.record_failure(exchange_id, e, self.clock.now())
            self.metrics.inc("errors", {"kind": "market_data", "exchange": exchange_id})
            log.warning(
                "market data refresh failed", extra={"exchange": exchange_id, "error": type(e).__name__}
            )
            return ExchangeScan(
                exchange_id=exchange_id,
                at=at,
                entries_allowed=False,
                error=f"market data unavailable: {type(e).__name__}",
            )
        self.health.record_success(exchange_id, self.clock.now())
        if self.shared is not None:  # the task's wait in the queue, market data and analysis
            self.metrics.observe("shared_analysis", time.perf_counter() - started, {"exchange": exchange_id})
        self.metrics.inc("candidates", {"exchange": exchange_id}, len(scan.candidates()))
        scan.entries_allowed = self.health.allows_entries(exchange_id)
        return scan

    async def _run_units(
        self,
        units: Sequence[UserUnit],
        work: Callable[[UserUnit], Awaitable[UserOutcome | None]],
        timeout: float | None = None,
    ) -> list[UnitResult]:
        limit = timeout if timeout is not None else self.timeouts.user_seconds
        return await _all([self._isolated(unit, work, limit) for unit in units])

    async def _isolated(
        self, unit: UserUnit, work: Callable[[UserUnit], Awaitable[UserOutcome | None]], limit: float
    ) -> UnitResult:
        result = UnitResult(unit=unit)
        async with self._gate:
            started = time.perf_counter()  # the unit's own time, not its wait for a free slot
            try:
                async with asyncio.timeout(limit):  # the unit runs in this task: no extra task per unit
                    result.outcome = await work(unit)
            except TimeoutError:
                result.error = "timeout"
                self.metrics.inc("errors", {"kind": "user_timeout"})
                log.warning(
                    "user unit timed out", extra={"user_id": unit.user_id, "exchange": unit.exchange_id}
                )
            except Exception as e:
                result.error = type(e).__name__
                self._classify_failure(unit, e)
        result.seconds = time.perf_counter() - started
        self.metrics.observe("user_unit", result.seconds)
        return result

    def _classify_failure(self, unit: UserUnit, error: Exception) -> None:
        if isinstance(error, InvalidCredentialsError | PermissionDeniedError):
            kind = "user_key"
        elif is_venue_fault(error):
            kind = "venue"
            self.health.record_failure(unit.exchange_id, error, self.clock.now())
        elif isinstance(error, QariError):
            kind = "rejected"
        else:
            kind = "unexpected"
        self.metrics.inc("errors", {"kind": kind})
        logger = log.error if kind == "unexpected" else log.warning
        logger(
            "user unit failed: %s",
            type(error).__name__,
            extra={"user_id": unit.user_id, "exchange": unit.exchange_id, "kind": kind},
            exc_info=kind == "unexpected",
        )

    def _observe_cycle(self, report: CycleReport) -> None:
        self.metrics.observe("cycle", report.seconds)
        self.metrics.inc("cycles")
        for code, count in report.gate_blocks().items():
            self.metrics.inc("gate_blocked", {"check": code}, count)
        passed = sum(1 for u in report.units if u.outcome for g in u.outcome.gate if g.passed)
        if passed:
            self.metrics.inc("gate_passed", amount=passed)
        if not log.isEnabledFor(logging.INFO):
            return  # the line's figures are not worth counting for nobody
        log.info(
            "cycle done",
            extra={
                "at": report.at.isoformat(),
                "mode": report.mode,
                "seconds": round(report.seconds, 3),
                "exchanges": len(report.scans),
                "symbols": sum(len(s.verdicts) for s in report.scans),
                "candidates": sum(len(s.candidates()) for s in report.scans),
                "users": len(report.units),
                "errors": report.errors,
            },
        )


async def _all(works: list[Coroutine[Any, Any, T]]) -> list[T]:
    """`asyncio.gather`'s results, without a task for a lone coroutine (one exchange, one user: a
    backtest's every tick), which would only cost the loop a round trip."""
    if len(works) == 1:
        return [await works[0]]
    return list(await asyncio.gather(*works))
