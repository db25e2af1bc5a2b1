"""Shared helpers for the engine's integration, acceptance, crash and fault tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import MARKET_DATA

from qari.adapters.persistence.tables.trading import FillRow, OrderRow, PositionRow


@dataclass(frozen=True)
class Journal:
    positions: list[tuple[Any, ...]]
    orders: list[tuple[Any, ...]]
    fills: list[tuple[Any, ...]]


def _d(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _t(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


async def read_journal(store: Any, user_id: int) -> Journal:
    """Every decision the engine journaled for one user, in a form two runs can be compared by.

    Read through the `TradingStore` API, so the SQL journal and the backtest's in-memory one compare."""
    positions = await store.all_positions(user_id)
    orders, fills = [], []
    for p in positions:
        orders += await store.orders_for(p.id)
        fills += await store.fills_for(p.id)
    orders.sort(key=lambda o: (o.created_at, o.id))
    fills.sort(key=lambda f: f.at)
    return Journal(
        positions=[
            (
                p.symbol,
                p.state.value,
                _d(p.entry_price),
                _d(p.structural_stop),
                _d(p.pt1),
                _d(p.pt2),
                _d(p.leg1_qty),
                _d(p.bought_qty),
                _d(p.sold_qty),
                _t(p.opened_at),
                _t(p.closed_at),
                p.exit_reason,
                _d(p.realised_pnl_quote),
            )
            for p in positions
        ],
        orders=[
            (
                o.client_order_id,
                o.symbol,
                o.role.value,
                o.side.value,
                o.type.value,
                _d(o.qty_base),
                _d(o.price),
                _d(o.trigger_price),
                o.state.value,
                _d(o.filled_base),
                _t(o.created_at),
            )
            for o in orders
        ],
        fills=[
            (f.symbol, f.side.value, _d(f.price), _d(f.qty_base), _d(f.fee), f.fee_currency, _t(f.at))
            for f in fills
        ],
    )


@dataclass(frozen=True)
class VenueAudit:
    duplicate_link_ids: list[str]
    unprotected: list[str]  # open positions holding coins with no active stop on the venue
    missing_fills: list[str]  # venue executions the journal does not have
    entries_filled: int
    venue_orders: int


async def audit(
    exchange: Any, account_id: str, sessions: async_sessionmaker[AsyncSession], user_id: int
) -> VenueAudit:
    """Compare the venue's own records with the engine's journal (the crash and fault tests' checks)."""
    from collections import Counter

    venue_orders = exchange.orders(account_id)
    counts = Counter(o.order_link_id for o in venue_orders if o.order_link_id)
    duplicates = sorted(link for link, n in counts.items() if n > 1)
    async with sessions() as session:
        positions = (
            (await session.execute(select(PositionRow).where(PositionRow.user_id == user_id))).scalars().all()
        )
        journal_fills = (
            await session.execute(select(FillRow.trade_id).where(FillRow.user_id == user_id))
        ).scalars()
        known_trades = set(journal_fills)
        orders = (await session.execute(select(OrderRow).where(OrderRow.user_id == user_id))).scalars().all()
    ours = {o.client_order_id for o in orders}
    active_stops = {
        o.symbol
        for o in venue_orders
        if o.active and o.side == "Sell" and (o.order_filter != "Order" or o.trigger_price is not None)
    }
    unprotected = []
    for p in positions:
        held = p.bought_qty - p.fee_base - p.sold_qty
        if p.closed_at is None and held > 0:
            venue_symbol = p.symbol.replace("/", "")
            if venue_symbol not in active_stops and p.symbol not in active_stops:
                unprotected.append(f"{p.symbol} position {p.id} holds {held}")
    missing = sorted(
        f"{e.exec_id} ({e.order_link_id})"
        for e in exchange.executions(account_id)
        if e.order_link_id in ours and e.exec_id not in known_trades
    )
    entries = sum(1 for p in positions if p.bought_qty > 0)
    return VenueAudit(duplicates, unprotected, missing, entries, len(venue_orders))


MARKET_DATA_DIR = MARKET_DATA
PROTOCOLS = ("bybit", "binance", "okx")  # the sandbox's protocols: the E2E tests run on each


def sandbox_account(sandbox: Any, balances: dict[str, str]) -> tuple[str, ...]:
    """A trade key on `sandbox` as the engine's accounts take it: (key, secret[, passphrase])."""
    if sandbox.protocol == "okx":
        passphrase = "Qari-okx-1"
        return (*sandbox.create_key(balances=balances, passphrase=passphrase), passphrase)
    return sandbox.create_key(balances=balances)  # type: ignore[no-any-return]


async def stepped_sandbox_engine(
    sandbox: Any,
    tmp: Path,
    *,
    accounts: dict[int, tuple[str, ...]],
    start: dt.datetime,
    pairs: tuple[str, ...],
    step: int = 900,
    database: str = "engine.db",
    database_url: str | None = None,
    **options: Any,
) -> Any:
    """The engine in sandbox mode against a `SandboxServer` whose market clock the engine steps, in the
    protocol that sandbox speaks (ccxt's class of that name)."""
    import asyncio

    from qari.config import load_settings
    from qari.core.clocks import ManualClock
    from qari.engine.kernel import build_sandbox
    from qari.engine.scheduler import Cadence, SteppedVenueSleeper

    clock = ManualClock(start)

    async def advance(ms: int) -> None:
        await asyncio.to_thread(sandbox.set_time, ms)

    return await build_sandbox(
        load_settings(data_dir=tmp, engine_mode="off", sandbox_protocol=sandbox.protocol),
        base_url=sandbox.base_url,
        accounts=accounts,
        database_url=database_url or f"sqlite+aiosqlite:///{tmp / database}",
        clock=clock,
        sleep_until=SteppedVenueSleeper(clock, advance),
        cadence=Cadence(cycle_seconds=step, manage_seconds=step),
        symbols=pairs,
        **options,
    )
