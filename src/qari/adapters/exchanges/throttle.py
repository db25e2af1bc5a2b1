"""ccxt's leaky-bucket rate limiter, waking once per wait instead of once per millisecond.

ccxt's `Throttler` (async_support) polls: while the bucket is short of tokens it sleeps its `delay`
(1 ms) and looks again, so a request held back 100 ms (Bybit's order reads cost 5 x 20 ms) wakes the
event loop about a hundred times. With hundreds of users' clients in one process that polling was
about a fifth of the engine's CPU in `benchmarks/cycle.py`.

`WakeOnceThrottler` admits requests by exactly ccxt's rule (same bucket, refill rate, capacity, costs
and order; the same credit for time elapsed since the loop started or last refilled) and sleeps until
the tokens the request at the head of the queue needs have refilled. ccxt's rolling-window algorithm
is left as it is (it already sleeps once per wait).
"""

from __future__ import annotations

import asyncio
from time import time
from typing import Any

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
