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
hourly key re-check on one key were each allowed the venue's whole rate), and one per exchange + egress
IP for public calls, which venues count by weight per IP (Binance's REQUEST_WEIGHT; ccxt's per-endpoint
`cost` is the weight): the engine's feed, every client's public reads, key checks and the sandbox's live
feed all draw from it. A bucket's tokens are one dict shared by the event loops of the process (the live
feed runs a loop of its own); each loop keeps its own queue and wakes on its own.
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
        # The last refill's time lives in the bucket, so loops sharing it refill it once between them.
        config["refilled_ms"] = max(config.get("refilled_ms", 0.0), time() * 1000)
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
                refill = max(now_ms - config["refilled_ms"], 0.0) * config["refillRate"]
                config["tokens"] = min(config["tokens"] + refill, config["capacity"])
                config["refilled_ms"] = now_ms


def install_throttler(exchange: Any) -> None:
    """Give a ccxt instance a rate limiter of its own (as its `init_throttler` does), one that wakes
    once per wait."""
    exchange.throttler = WakeOnceThrottler(exchange.tokenBucket, exchange.asyncio_loop)


def key_scope(api_key: str) -> str:
    """A budget's name for one API key: a digest, so the registry never holds the key id itself."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def egress_scope(exchange: Any) -> str:
    """A public budget's name: the address the venue sees. A process's direct requests all leave from
    one IP; through a proxy they leave from the proxy's (named by a digest: its URL may hold a password)."""
    proxy = next((str(v) for name in _PROXY_SETTINGS if (v := getattr(exchange, name, None))), "")
    return "ip:" + (hashlib.sha256(proxy.encode()).hexdigest()[:16] if proxy else "direct")


_PROXY_SETTINGS: tuple[str, ...] = ("proxyUrl", "proxy_url", "httpProxy", "http_proxy", "httpsProxy")
_PROXY_SETTINGS += ("https_proxy", "socksProxy", "socks_proxy", "wsProxy", "ws_proxy", "aiohttp_proxy")


class RequestBudgets(Protocol):
    """Where a ccxt call takes its rate-limit budget: a signed call one per exchange + key
    (`key_scope`), a public call one per exchange + egress IP (`egress_scope`), each shared by every
    client of the process (units of work, the feed, the hourly key re-check), as the venue counts.

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
    """`RequestBudgets` for one process: ccxt's leaky bucket (`WakeOnceThrottler`) per exchange and
    scope, with the venue's token-bucket configuration as ccxt describes it; each event loop has its own
    throttler (queue, wake-ups) over the one bucket (GIL-atomic steps: exact within a loop, close
    across threads)."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], Any]]
        self._by_loop = weakref.WeakKeyDictionary()
        self._buckets: dict[tuple[str, str], dict[str, Any]] = {}

    def throttler(self, exchange: Any, scope: str) -> WakeOnceThrottler:
        loop = exchange.asyncio_loop or asyncio.get_running_loop()
        budgets = self._by_loop.setdefault(loop, {})
        key = (str(exchange.id), scope)
        found = budgets.get(key)
        if found is None:
            found = budgets[key] = WakeOnceThrottler(dict(exchange.tokenBucket), loop)
            found.config = self._buckets.setdefault(key, found.config)
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


class SharedBudget:
    """ccxt's `throttler` slot of a public instance: each call is admitted by (or, with `wait=False`,
    only counted against) `budgets`' bucket for the instance's exchange and egress IP, found at call
    time (the bucket's throttler belongs to the event loop running the call)."""

    loop: Any = None  # ccxt sets it on `open()`; the budget's throttlers have their own

    def __init__(self, budgets: RequestBudgets, exchange: Any, *, wait: bool = True) -> None:
        self._budgets, self._exchange, self._wait = budgets, exchange, wait
        self.scope = egress_scope(exchange)

    def __call__(self, cost: float | None = None) -> Any:
        find = self._budgets.throttler if self._wait else self._budgets.charger
        return find(self._exchange, self.scope)(cost)


def share_public_budget(exchange: Any, budgets: RequestBudgets) -> None:
    """Make a credential-free instance draw from the process's budget for its exchange + egress IP.
    Without ccxt's rate limiting (`enableRateLimit=False`, a key check) its calls are still counted."""
    wait = bool(exchange.enableRateLimit)
    exchange.enableRateLimit = True
    exchange.throttler = SharedBudget(budgets, exchange, wait=wait)


BUDGETS = ProcessRequestBudgets()
"""The process's budgets: every `CcxtExchangeClient` and public instance takes its budget from here."""
