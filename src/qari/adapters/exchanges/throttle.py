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

`RedisRequestBudgets` keeps the same budgets in Redis (`limits`' sliding-window counter), one for every
process of the scaled-out roles (`qari worker`s on any machine, `qari scheduler`): `use_redis_budgets`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import weakref
from typing import Any, Protocol

from ccxt.async_support.base.throttler import Throttler

_log = logging.getLogger(__name__)


class WakeOnceThrottler(Throttler):  # type: ignore[misc]  # ccxt ships no type hints
    running: bool
    queue: Any
    config: dict[str, Any]

    async def leaky_bucket_loop(self) -> None:
        config = self.config
        # The last refill's time lives in the bucket, so loops sharing it refill it once between them.
        config["refilled_ms"] = max(config.get("refilled_ms", 0.0), time.time() * 1000)
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
                now_ms = time.time() * 1000
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

    `RedisRequestBudgets` implements the same two calls across processes (`qari worker`s on any
    machine), over `limits`' Redis storage with the venue's costs as weights."""

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


BUDGET_WINDOW_SECONDS = 1
"""The shared budget's window: a second of the venue's rate may be spent at once (as the venues count:
Bybit per second, Binance per minute), then calls are admitted at the venue's rate."""

_UNITS_PER_COST = 100  # ccxt's costs are fractional (e.g. 0.5, 2.5); `limits` counts integers


class RedisRequestBudgets:
    """`RequestBudgets` shared by every process pointed at one Redis (`qari worker`s on any machine,
    `qari scheduler`): per exchange + scope, a sliding-window counter of `limits`
    (`SlidingWindowCounterRateLimiter` over its async `RedisStorage`; an atomic Lua script per call)
    holding `BUDGET_WINDOW_SECONDS` of the venue's rate as ccxt describes it (`rateLimit` ms per unit
    of cost), each call weighing its ccxt `cost`.

    A call the window has no room for sleeps for the time the venue's rate takes to pay its cost, then
    asks again (one Redis round trip per try). A charge (`charger`) is counted at once even past the
    limit, so the calls behind it wait for it. Redis unreachable: the calls fall back to the process's
    own bucket (`fallback`) for `retry_seconds` and the log says so, so a broken budget store never
    stops an exit."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "qari-budget",
        fallback: RequestBudgets | None = None,
        retry_seconds: float = 5.0,
    ) -> None:
        self.url, self.prefix = url, prefix
        self.fallback: RequestBudgets = fallback or ProcessRequestBudgets()
        self.retry_seconds = retry_seconds
        self.down_until = 0.0  # time.monotonic() until which the store is taken as away
        # redis-py's async connections belong to the event loop that opened them: a limiter per loop.
        self._limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]
        self._limiters = weakref.WeakKeyDictionary()
        # Per loop too: a throttler's fallback is the process bucket of the loop its calls run on.
        self._throttlers: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[str, str, bool], _RedisThrottler]
        ]
        self._throttlers = weakref.WeakKeyDictionary()

    def limiter(self) -> Any:
        """This event loop's `limits` sliding-window limiter over the Redis storage."""
        from limits.aio.storage import RedisStorage
        from limits.aio.strategies import SlidingWindowCounterRateLimiter

        loop = asyncio.get_running_loop()
        found = self._limiters.get(loop)
        if found is None:
            storage = RedisStorage(
                self.url,
                implementation="redispy",  # redis-py: already the broker's client (coredis is not)
                wrap_exceptions=True,  # any Redis failure as limits' StorageError: see the fallback
                key_prefix=self.prefix,
                socket_connect_timeout=1.0,
                socket_timeout=2.0,
            )
            found = self._limiters[loop] = SlidingWindowCounterRateLimiter(storage)
        return found

    def throttler(self, exchange: Any, scope: str) -> _RedisThrottler:
        return self._throttler(exchange, scope, wait=True)

    def charger(self, exchange: Any, scope: str) -> _RedisThrottler:
        return self._throttler(exchange, scope, wait=False)

    def _throttler(self, exchange: Any, scope: str, *, wait: bool) -> _RedisThrottler:
        loop = exchange.asyncio_loop or asyncio.get_running_loop()
        throttlers = self._throttlers.setdefault(loop, {})
        key = (str(exchange.id), scope, wait)
        found = throttlers.get(key)
        if found is None:
            found = throttlers[key] = _RedisThrottler(self, exchange, scope, wait=wait)
        return found


class _RedisThrottler:
    """ccxt's `throttler` slot over a `RedisRequestBudgets` budget: `await throttler(cost)`."""

    loop: Any = None  # ccxt sets it when a session opens; Redis is reached from the running loop

    def __init__(self, budgets: RedisRequestBudgets, exchange: Any, scope: str, *, wait: bool) -> None:
        from limits import RateLimitItemPerSecond

        self._budgets, self._exchange, self._scope, self._wait = budgets, exchange, scope, wait
        self.units_per_second = 1000 / float(exchange.rateLimit) * _UNITS_PER_COST
        amount = max(1, round(self.units_per_second * BUDGET_WINDOW_SECONDS))
        self.item = RateLimitItemPerSecond(amount, BUDGET_WINDOW_SECONDS)
        self.identifiers = (str(exchange.id), scope)
        self._default_cost = float(exchange.tokenBucket.get("cost", 1))

    def __call__(self, cost: float | None = None) -> Any:
        return self._admit(self._default_cost if cost is None else float(cost))

    async def _admit(self, cost: float) -> None:
        from limits.errors import StorageError

        # A call dearer than the whole window takes all of it (the Lua script refuses more, forever).
        units = min(max(1, round(cost * _UNITS_PER_COST)), self.item.amount)
        budgets = self._budgets
        if time.monotonic() >= budgets.down_until:
            try:
                limiter = budgets.limiter()
                while not await limiter.hit(self.item, *self.identifiers, cost=units):
                    if not self._wait:
                        await self._force(limiter, units)
                        return
                    await asyncio.sleep(max(units / self.units_per_second, 0.005))
                return
            except StorageError as e:
                # Not asked again for a while: a store that does not answer must not cost every call
                # its connect timeout.
                budgets.down_until = time.monotonic() + budgets.retry_seconds
                _log.warning(
                    "request budget store unreachable; using this process's own budget",
                    extra={"exchange": self.identifiers[0], "error": type(e.__cause__ or e).__name__},
                )
        find = budgets.fallback.throttler if self._wait else budgets.fallback.charger
        await find(self._exchange, self._scope)(cost)

    async def _force(self, limiter: Any, units: int) -> None:
        """Count `units` past the limit: straight into the sliding window's current counter (the key
        and twice-the-window expiry `limits`' own acquire script uses)."""
        storage = limiter.storage
        key = storage._current_window_key(self.item.key_for(*self.identifiers))
        await storage.incr(key, 2 * self.item.get_expiry(), units)


class ConfiguredBudgets:
    """The process's `RequestBudgets`: in-process (`ProcessRequestBudgets`) unless a scaled-out role
    points it at Redis (`use_redis_budgets`). Every client takes its budget from here at call time, so
    the choice holds for clients made before it."""

    def __init__(self, backing: RequestBudgets) -> None:
        self.backing = backing

    def throttler(self, exchange: Any, scope: str) -> Any:
        return self.backing.throttler(exchange, scope)

    def charger(self, exchange: Any, scope: str) -> Any:
        return self.backing.charger(exchange, scope)


BUDGETS = ConfiguredBudgets(ProcessRequestBudgets())
"""The process's budgets: every `CcxtExchangeClient` and public instance takes its budget from here."""


def request_budget_url(redis_url: str | None, broker_url: str) -> str | None:
    """Where the scaled-out roles share their request budgets: `QARI_REDIS_URL` when set, else the
    broker when it is a Redis (`QARI_BROKER_URL=redis://…`); with a RabbitMQ broker and no Redis,
    nowhere (each process keeps budgets of its own)."""
    if redis_url:
        return redis_url
    return broker_url if broker_url.startswith(("redis://", "rediss://")) else None


def use_redis_budgets(url: str) -> None:
    """Share this process's request budgets with every process pointed at the Redis at `url`."""
    BUDGETS.backing = RedisRequestBudgets(url, fallback=BUDGETS.backing)
