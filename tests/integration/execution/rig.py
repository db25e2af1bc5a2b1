"""A trading rig over the real sandbox: scripted prices, HTTP Bybit protocol, unmodified ccxt.

The engine's ManualClock and the sandbox's stepped market clock move together through `step()`.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, Credentials
from qari.adapters.locks import entry_lock_for
from qari.adapters.persistence.db import make_sessionmaker
from qari.adapters.persistence.repositories.trading import SqlTradingStore
from qari.adapters.simulator.clock import SteppedClock
from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.harness import SandboxServer
from qari.adapters.simulator.venue import SandboxVenue
from qari.analysis.layer import LayerResult
from qari.analysis.verdict import Candidate, Verdict
from qari.core.clocks import ManualClock, WallClock
from qari.core.time import to_ms
from qari.engine.entry import EntryOutcome
from qari.engine.execution import ExecutionConfig, StructureSignals, UserExecution
from qari.engine.kernel import venue_execution_config
from qari.risk.candidate import CandidateLevels
from qari.risk.profile import TradingProfile
from qari.risk.sizing import AllocationMode
from qari.trading.records import OrderRecord, PositionRecord

from .scripted_prices import ScriptedPrices
from .support import migrated_engine, register_user

T0 = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)  # a Monday
T0_MS = to_ms(T0)
MIN = 60_000


def at(minutes: float) -> int:
    return T0_MS + int(minutes * MIN)


@contextmanager
def scripted_sandbox(
    prices: ScriptedPrices, start_ms: int = T0_MS, protocol: str = "bybit"
) -> Iterator[SandboxServer]:
    venue = SandboxVenue(
        SimulatedExchange(prices, start_ms=start_ms), SteppedClock(start_ms), WallClock(), protocol=protocol
    )
    server = SandboxServer(venue)
    server._thread.start()
    deadline = time.monotonic() + 10
    while not server._server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    try:
        yield server
    finally:
        server.stop()


def candidate(
    symbol: str = "SOL/USDT", entry: str = "100", stop: str = "85", pt1: str = "120", pt2: str = "140"
) -> CandidateLevels:
    e = Decimal(entry)
    return CandidateLevels(
        symbol,
        e - Decimal("0.5"),
        e + Decimal("0.5"),
        Decimal(stop),
        Decimal(pt1),
        Decimal(pt2),
        explanation="Bullish 4h structure, SFP at the sell-side pool and a grade-A FVG agree.",
        score=0.8,
    )


def verdict(symbol: str, score: float, layers: tuple[LayerResult, ...] = (), agreeing: int = 3) -> Verdict:
    """The analysis `Verdict` the engine scans carry, its candidate at `candidate(symbol)`'s levels."""
    levels = candidate(symbol)
    setup = Candidate(
        symbol,
        levels.entry_low,
        levels.entry_high,
        levels.stop,
        levels.pt1,
        levels.pt2,
        levels.explanation,
        layers_agreed=tuple(r.layer for r in layers if r.vote == "agree"),
        score=levels.score,
    )
    return Verdict(symbol, 0, layers, score, agreeing, (), setup)


class Rig:
    def __init__(
        self,
        server: SandboxServer,
        prices: ScriptedPrices,
        engine: AsyncEngine,
        user_id: int,
        key: str,
        secret: str,
        timeout_ms: int = 5000,
        venue: str = "sandbox",
    ) -> None:
        self.server = server
        self.venue = venue  # QARI's exchange id; "binance" speaks the sandbox's Binance protocol
        self.prices = prices
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)
        self.store = SqlTradingStore(self.sessions)
        self.clock = ManualClock(dt.datetime.fromtimestamp(server.now_ms() / 1000, tz=dt.UTC))
        self.user_id = user_id
        self.key, self.secret = key, secret
        self.namespace = "t" + uuid.uuid4().hex[:4]
        self.choch = False
        self.higher_low: float | None = None

        async def credentials() -> Credentials:
            return Credentials(key, secret)

        # ccxt's own Binance request weights would pace a test by seconds per call: off there.
        self.client = CcxtExchangeClient(
            venue, credentials, base_url=server.base_url, timeout_ms=timeout_ms, rate_limit=venue == "sandbox"
        )
        self.profile = TradingProfile(
            user_id=user_id,
            exchange_id=venue,
            plan="pro",
            capacity=10,
            allocation_mode=AllocationMode.FIXED,
            allocation_value=Decimal(200),
            permissions_verified_at=self.clock.now(),
        )
        self.execution = self.new_execution()

    def new_execution(self) -> UserExecution:
        """A fresh execution unit (as after a restart): nothing carried over in memory."""
        return UserExecution(
            self.client,
            self.store,
            entry_lock_for(self.engine, self.sessions, self.clock),
            self.clock,
            ExecutionConfig(namespace=self.namespace)
            if self.venue == "sandbox"
            else replace(venue_execution_config(), namespace=self.namespace),
            signals=StructureSignals(
                bullish_choch_15m=lambda _series: self.choch,
                latest_higher_low=lambda _series: self.higher_low,
            ),
        )

    def step(self, minutes: float) -> None:
        self.clock.advance(dt.timedelta(minutes=minutes))
        self.server.set_time(to_ms(self.clock.now()))
        self.profile = TradingProfile(
            **{**_fields(self.profile), "permissions_verified_at": self.clock.now()}
        )

    async def enter(self, c: CandidateLevels | None = None) -> EntryOutcome:
        return await self.execution.enter(self.profile, c or candidate())

    async def manage(self) -> list[PositionRecord]:
        await self.execution.manage(self.profile)
        return await self.store.open_positions(self.user_id)

    async def position(self, position_id: int) -> PositionRecord:
        found = await self.store.get_position(position_id)
        assert found is not None
        return found

    async def orders(self, position_id: int) -> list[OrderRecord]:
        return await self.store.orders_for(position_id)

    def venue_orders(self, open_only: bool = True) -> list[dict[str, Any]]:
        return self.server.orders(self.key, open_only=open_only)

    def venue_stops(self) -> list[dict[str, Any]]:
        return [o for o in self.venue_orders() if o.get("triggerPrice") not in (None, "", "0")]

    def base_balance(self, coin: str = "SOL") -> Decimal:
        row = self.server.balances(self.key).get(coin)
        return (
            Decimal(0)
            if row is None
            else sum(row.values(), Decimal(0))
            if "total" not in row
            else row["total"]
        )


def _fields(profile: TradingProfile) -> dict[str, Any]:
    return {name: getattr(profile, name) for name in profile.__dataclass_fields__}


@asynccontextmanager
async def rig_for(
    paths: dict[str, list[tuple[int, float]]],
    db_url: str,
    *,
    balances: dict[str, str] | None = None,
    timeout_ms: int = 5000,
    venue: str = "sandbox",
) -> AsyncIterator[Rig]:
    prices = ScriptedPrices(paths)
    with scripted_sandbox(prices, protocol="binance" if venue == "binance" else "bybit") as server:
        engine = await migrated_engine(db_url)
        key, secret = server.create_key(balances=balances or {"USDT": "1000"})
        user_id = await register_user(make_sessionmaker(engine), f"{uuid.uuid4().hex[:8]}@example.com")
        rig = Rig(server, prices, engine, user_id, key, secret, timeout_ms, venue)
        try:
            yield rig
        finally:
            await rig.client.close()
            await engine.dispose()


async def journal(rig: Rig, position_id: int) -> list[str]:
    """The position's lifecycle events and orders, for assertion messages."""
    from sqlalchemy import select

    from qari.adapters.persistence.tables.trading import PositionEventRow

    async with rig.sessions() as session:
        rows = (
            await session.scalars(select(PositionEventRow).where(PositionEventRow.position_id == position_id))
        ).all()
    orders = await rig.orders(position_id)
    return [f"{r.kind}: {r.message}" for r in rows] + [
        f"order {o.client_order_id} {o.role.value} {o.state.value} {o.qty_base} "
        f"filled={o.filled_base} {o.note}"
        for o in orders
    ]


async def alert_data(rig: Rig, kind: str) -> list[dict[str, str]]:
    from sqlalchemy import select

    from qari.adapters.persistence.tables.alerts import AlertOutbox

    async with rig.sessions() as session:
        query = select(AlertOutbox.data).where(AlertOutbox.user_id == rig.user_id, AlertOutbox.kind == kind)
        return list((await session.scalars(query)).all())


async def alert_kinds(rig: Rig) -> list[str]:
    from sqlalchemy import select

    from qari.adapters.persistence.tables.alerts import AlertOutbox

    async with rig.sessions() as session:
        return list(
            (await session.scalars(select(AlertOutbox.kind).where(AlertOutbox.user_id == rig.user_id))).all()
        )
