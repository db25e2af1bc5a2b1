"""Sandbox throughput: limit orders placed and cancelled through async ccxt over loopback HTTP.

Starts `qari sandbox --stepped` (synthetic market) in a child process on a free port, then places N
far-from-market limit orders with ccxt `create_order` and cancels them with `cancel_order`, with
`--concurrency` requests in flight, and prints orders per second for each phase. Then times the
in-process engine (no HTTP), the backtester's path. ccxt's client-side rate limiter is off so the figure
is the venue's (plus ccxt's own CPU), not ccxt's throttle.

    python benchmarks/sandbox.py [--orders 1000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx

from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.harness import FIXTURE_START_MS, ccxt_bybit
from qari.adapters.simulator.prices import SyntheticMarket

ADMIN_TOKEN = secrets.token_urlsafe(16)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@contextmanager
def sandbox_process() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "QARI_SANDBOX_ADMIN_TOKEN": ADMIN_TOKEN}
    cmd = [sys.executable, "-m", "qari", "sandbox", "--port", str(port), "--stepped"]
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/v5/market/time", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError("qari sandbox did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        child.terminate()
        child.wait(timeout=10)


async def _timed(jobs: list[Callable[[], Awaitable[Any]]], concurrency: int) -> tuple[float, list[Any]]:
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    started = time.perf_counter()
    results = await asyncio.gather(*(one(job) for job in jobs))
    return time.perf_counter() - started, list(results)


async def over_http(base: str, orders: int, concurrency: int) -> tuple[float, float]:
    key = httpx.post(f"{base}/admin/keys", json={"balances": {"USDT": "100000000"}}, headers=ADMIN).json()
    ex = ccxt_bybit(base, key["api_key"], key["api_secret"], enableRateLimit=False)
    try:
        await ex.load_markets()
        price = float(ex.price_to_precision("BTC/USDT", (await ex.fetch_ticker("BTC/USDT"))["last"] * 0.5))

        def place(i: int) -> Callable[[], Awaitable[Any]]:
            params = {"clientOrderId": f"b-{i}"}
            return lambda: ex.create_order("BTC/USDT", "limit", "buy", 0.001, price, params)

        place_s, placed = await _timed([place(i) for i in range(orders)], concurrency)
        listed = httpx.get(
            f"{base}/admin/orders/{key['api_key']}", params={"open_only": True}, headers=ADMIN
        ).json()
        assert len(listed) == orders, f"expected {orders} open orders, found {len(listed)}"

        def cancel(order_id: str) -> Callable[[], Awaitable[Any]]:
            return lambda: ex.cancel_order(order_id, "BTC/USDT")

        cancel_s, _ = await _timed([cancel(o["id"]) for o in placed], concurrency)
        listed = httpx.get(
            f"{base}/admin/orders/{key['api_key']}", params={"open_only": True}, headers=ADMIN
        ).json()
        assert listed == [], "orders left open after cancelling"
        return orders / place_s, orders / cancel_s
    finally:
        await ex.close()


def in_process(orders: int) -> float:
    ex = SimulatedExchange(SyntheticMarket(7), start_ms=FIXTURE_START_MS, symbols=["BTC/USDT"])
    ex.open_account("bench", {"USDT": Decimal(100_000_000)})
    price = (ex.price("BTC/USDT") / 2).quantize(Decimal("0.1"))
    started = time.perf_counter()
    for _ in range(orders):
        order = ex.place_order("bench", "BTC/USDT", "Buy", "Limit", Decimal("0.001"), price)
        ex.cancel_order("bench", order_id=order.order_id)
    return orders / (time.perf_counter() - started)


def advance_steps(steps: int) -> float:
    """15-minute `advance_to` steps per second with a resting order on each of the 5 synthetic symbols
    (the backtester's per-candle cost of the fill model)."""
    market = SyntheticMarket(7)
    ex = SimulatedExchange(market, start_ms=FIXTURE_START_MS)
    ex.open_account("bench", {"USDT": Decimal(100_000_000)})
    for symbol, inst in ex.instruments().items():
        price = (ex.price(symbol) / 10).quantize(inst.tick_size)
        ex.place_order("bench", symbol, "Buy", "Limit", inst.min_order_qty * 1000, price)
    market.base_candles("BTC/USDT", FIXTURE_START_MS, FIXTURE_START_MS + steps * 900_000)  # warm the cache
    started = time.perf_counter()
    for k in range(1, steps + 1):
        ex.advance_to(FIXTURE_START_MS + k * 900_000)
    return steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with sandbox_process() as base:
        placed, cancelled = asyncio.run(over_http(base, args.orders, args.concurrency))
    print(f"sandbox over loopback HTTP via async ccxt ({args.orders} orders, {args.concurrency} in flight):")
    print(f"  placed:    {placed:8.0f} orders/s")
    print(f"  cancelled: {cancelled:8.0f} orders/s")
    print(f"in-process engine (no HTTP), place + cancel: {in_process(args.orders * 10):8.0f} pairs/s")
    print(
        f"in-process advance_to, 15m steps, 5 symbols with resting orders: {advance_steps(5000):8.0f} steps/s"
    )


if __name__ == "__main__":
    main()
