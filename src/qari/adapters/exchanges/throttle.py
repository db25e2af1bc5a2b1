"""ccxt's leaky-bucket rate limiter, waking once per wait instead of once per millisecond.

ccxt's `Throttler` (async_support) polls: while the bucket is short of tokens it sleeps its `delay`
(1 ms) and looks again, so a request held back 100 ms (Bybit's order reads cost 5 x 20 ms) wakes the
event loop about a hundred times. With hundreds of users' clients in one process that polling was
about a fifth of the engine's CPU in `benchmarks/cycle.py`.

`WakeOnceThrottler` admits requests by exactly ccxt's rule (same bucket, refill rate, capacity, costs
and order; the same credit for time elapsed since the loop started or last refilled) and sleeps until
the tokens the request at the head of the queue needs have refilled. ccxt's rolling-window algorithm
is left as it is (it already sleeps once per wait).

`RequestBudgets` shares one such bucket per exchange + API key among every client of the process
(a new client opens per unit of work; before, each had a budget of its own, so concurrent units and the
hourly key re-check on one key were each allowed the venue's whole rate).
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from time import time
from typing import Any, Protocol

from ccxt.async_support.base.throttler import Throttler


class WakeOnceThrottler(Throttler):  # type: ignore[misc]  # ccxt ships no type hints
    running: bool
    queue: Any
    config: dict[str, Any]

    async def leaky_bucket_loop(self) -> None:
        config = self.config
        last_ms = time() * 1000
        while self.running:
            future, cost = self.queue[0]
            cost = config["cost"] if cost is None else cost
            if config["tokens"] >= 0:
                config["tokens"] -= cost
                if not future.done():
                    future.set_result(None)
                self.queue.popleft()
                await asyncio.sleep(0)  # as ccxt: let the admitted request go first
                if not self.queue:
                    self.running = False
            else:
                short_ms = -config["tokens"] / config["refillRate"]
                await asyncio.sleep(max(short_ms / 1000, config["delay"]))
                now_ms = time() * 1000
                refill = (now_ms - last_ms) * config["refillRate"]
                config["tokens"] = min(config["tokens"] + refill, config["capacity"])
                last_ms = now_ms


def install_throttler(exchange: Any) -> None:
    """Give a ccxt instance a rate limiter of its own (as its `init_throttler` does), one that wakes
    once per wait."""
    exchange.throttler = WakeOnceThrottler(exchange.tokenBucket, exchange.asyncio_loop)


def key_scope(api_key: str) -> str:
    """A budget's name for one API key: a digest, so the registry never holds the key id itself."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


class RequestBudgets(Protocol):
    """Where a signed ccxt call takes its rate-limit budget: one per exchange + key, shared by every
    client of the process (units of work, the hourly key re-check), as the venue counts per key.

    A Redis backing (the scale-out issue: one budget across worker processes) implements the same two
    calls, e.g. over `limits`' RedisStorage with the venue's costs as weights."""

    def throttler(self, exchange: Any, scope: str) -> Any:
        """The ccxt throttler (awaitable `throttler(cost)`) for `exchange`'s venue and `scope`."""
        ...

    def charger(self, exchange: Any, scope: str) -> Any:
        """A throttler that counts each call's cost against the same budget without making it wait
        (key checks: answered at once, but the units behind them wait for what they spent)."""
        ...


class ProcessRequestBudgets:
    """`RequestBudgets` for one process: ccxt's leaky bucket (`WakeOnceThrottler`), one per event loop,
    exchange and scope, with the venue's token-bucket configuration as ccxt describes it."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], Any]]
        self._by_loop = weakref.WeakKeyDictionary()

    def throttler(self, exchange: Any, scope: str) -> WakeOnceThrottler:
        loop = exchange.asyncio_loop or asyncio.get_running_loop()
        budgets = self._by_loop.setdefault(loop, {})
        key = (str(exchange.id), scope)
        found = budgets.get(key)
        if found is None:
            found = budgets[key] = WakeOnceThrottler(dict(exchange.tokenBucket), loop)
        return found

    def charger(self, exchange: Any, scope: str) -> _Charger:
        return _Charger(self.throttler(exchange, scope))


class _Charger:
    def __init__(self, throttler: WakeOnceThrottler) -> None:
        self.throttler = throttler

    def __call__(self, cost: float | None = None) -> asyncio.Future[None]:
        config = self.throttler.config
        config["tokens"] -= config["cost"] if cost is None else cost
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


BUDGETS = ProcessRequestBudgets()
"""The process's budgets: every `CcxtExchangeClient` takes its signed calls' budget from here."""
