"""The entry unit's view of a user's venue: shared tickers per cycle, balances re-read after orders."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from tests.unit.engine.records import resting

from qari.core.market import Ticker
from qari.core.orders import Balance, OrderReport, OrderRequest, OrderType, Side
from qari.engine.units import TickerCache, UnitClient

AT = dt.datetime(2024, 8, 9, 15, 0, tzinfo=dt.UTC)


class CountingVenue:
    exchange_id = "sandbox"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.free = Decimal(1000)

    async def fetch_ticker(self, symbol: str) -> Ticker:
        self.calls.append(f"ticker {symbol}")
        await asyncio.sleep(0.01)
        return Ticker(symbol=symbol, bid=Decimal(1), ask=Decimal(2), last=Decimal(len(self.calls)), ts_ms=0)

    async def fetch_balances(self) -> dict[str, Balance]:
        self.calls.append("balances")
        return {"USDT": Balance("USDT", self.free, Decimal(0))}

    async def create_order(self, request: OrderRequest) -> OrderReport:
        self.calls.append("create")
        self.free -= Decimal(100)
        return resting(request, "1")

    async def fetch_open_orders(
        self, symbol: str | None = None, *, stop_orders: bool = True
    ) -> list[OrderReport]:
        self.calls.append("open orders")
        return []


async def test_tickers_when_many_users_ask_in_one_cycle_then_one_read_and_a_new_cycle_reads_again() -> None:
    venue = CountingVenue()
    cache = TickerCache()
    users = [UnitClient(venue, cache, AT) for _ in range(20)]  # type: ignore[arg-type]
    later = UnitClient(venue, cache, AT + dt.timedelta(minutes=5))  # type: ignore[arg-type]

    first = await asyncio.gather(*(u.fetch_ticker("SOL/USDT") for u in users))
    next_cycle = await later.fetch_ticker("SOL/USDT")

    assert venue.calls == ["ticker SOL/USDT", "ticker SOL/USDT"]
    assert {t.last for t in first} == {Decimal(1)} and next_cycle.last == Decimal(2)


async def test_tickers_when_older_than_max_age_then_read_again() -> None:
    venue = CountingVenue()
    cache = TickerCache(max_age=0.0)
    client = UnitClient(venue, cache, AT)  # type: ignore[arg-type]

    await client.fetch_ticker("SOL/USDT")
    await asyncio.sleep(0.001)
    await client.fetch_ticker("SOL/USDT")

    assert venue.calls == ["ticker SOL/USDT", "ticker SOL/USDT"]


async def test_balances_when_gates_follow_each_other_then_read_once_and_after_an_order_read_again() -> None:
    venue = CountingVenue()
    client = UnitClient(venue, TickerCache(), AT)  # type: ignore[arg-type]

    before = [(await client.fetch_balances())["USDT"].free for _ in range(3)]
    await client.create_order(
        OrderRequest("SOL/USDT", Side.BUY, OrderType.LIMIT, Decimal(1), "c1", price=Decimal(100))
    )
    after = (await client.fetch_balances())["USDT"].free
    await client.fetch_open_orders("SOL/USDT")
    await client.fetch_balances()

    assert before == [Decimal(1000)] * 3 and after == Decimal(900)
    assert venue.calls == ["balances", "create", "balances", "open orders", "balances"]
