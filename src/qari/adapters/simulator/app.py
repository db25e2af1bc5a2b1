"""The sandbox as an ASGI app: its venue's protocol (Bybit v5 at `{base}/v5/...`, Binance spot at
`{base}/api/v3/...` and `{base}/sapi/v1/...`, or OKX v5 at `{base}/api/v5/...`), admin at `{base}/admin/...`.

`create_sandbox_app(venue_or_factory)` serves one `SandboxVenue` (built lazily from a factory when
mounted inside the platform); `build_venue(...)` / `venue_from_settings(settings)` assemble one.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from qari.adapters.simulator import binance_api, bybit_api, okx_api
from qari.adapters.simulator.admin_api import router as admin_router
from qari.adapters.simulator.clock import LiveClock, MarketClock, ReplayClock, SteppedClock
from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.fill_model import BookModel, FeeSchedule, FillModel
from qari.adapters.simulator.live_feed import FeedUnreachable, LiveFeed
from qari.adapters.simulator.prices import CandleReplay, PriceSource, SyntheticMarket
from qari.adapters.simulator.recorded_rules import recorded_rules
from qari.adapters.simulator.scenarios import ScenarioMarket
from qari.adapters.simulator.venue import RateLimiter, SandboxVenue
from qari.config import Settings
from qari.core.clocks import WallClock
from qari.core.time import Clock, to_ms

log = logging.getLogger(__name__)


def build_venue(
    *,
    data_dir: Path | None = None,
    synthetic_seed: int = 7,
    speed: float = 1.0,
    stepped_start_ms: int | None = None,
    symbols: Sequence[str] | None = None,
    real_clock: Clock | None = None,
    fees: FeeSchedule | None = None,
    book: BookModel | None = None,
    fills: FillModel | None = None,
    fault_seed: int = 0,
    rate_limits: bool = False,
    replay_start_ms: int | None = None,
    protocol: str = "bybit",
    scenarios: bool = False,
    feed: LiveFeed | None = None,
) -> SandboxVenue:
    """A venue over replayed files (`data_dir`) or the seeded synthetic market; the market clock is
    stepped when `stepped_start_ms` is given, otherwise the real time run at `speed`; `rate_limits`
    turns on Bybit's per-key request limits (10006 past 20 order calls / 50 other private calls a second).

    A replay starts 30 days before its data ends, shifted to now; `replay_start_ms` (a moment of the
    data) starts it there instead, shifted by whole weeks into the week before now (without files: the
    market clock starts at that moment). Without files the market is the seeded random walk, or with
    `scenarios` the demo's scripted setups (`scenarios.py`).

    `protocol` is the wire protocol it speaks (`PROTOCOLS`); a pair the venue's recorded instrument
    list holds (`recorded_rules`) is listed with those real rules, any other by the formula.

    `feed` (a started `LiveFeed`) is the price source instead, on the real time at speed 1."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown sandbox protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    real = real_clock or WallClock()
    if replay_start_ms is not None and stepped_start_ms is not None:
        raise ValueError("a replay start needs a running (not stepped) clock")
    source: PriceSource
    origin_ms: int | None = None
    if feed is not None:
        source = feed
    elif data_dir is not None:
        replay = CandleReplay.from_dir(data_dir, symbols=symbols)
        if replay_start_ms is not None:
            origin_ms = replay.start_at(replay_start_ms, to_ms(real.now()))
        else:
            replay.align_start(stepped_start_ms if stepped_start_ms is not None else to_ms(real.now()))
        source = replay
    else:
        source = ScenarioMarket(synthetic_seed) if scenarios else SyntheticMarket(synthetic_seed)
        origin_ms = replay_start_ms  # a pure function of time: no shifting, the clock starts there
    clock: MarketClock
    if feed is not None:
        clock = LiveClock(real)  # the data is now's: the market cannot run ahead of it
    elif stepped_start_ms is not None:
        clock = SteppedClock(stepped_start_ms)
    else:
        clock = ReplayClock(real, origin_ms=origin_ms, speed=speed)
    exchange = SimulatedExchange(
        source,
        start_ms=clock.now_ms(),
        fees=fees,
        book=book,
        fills=fills,
        symbols=symbols,
        recorded=recorded_rules(protocol),
    )
    limiter = RateLimiter() if rate_limits else None
    return SandboxVenue(exchange, clock, real, fault_seed=fault_seed, rate_limits=limiter, protocol=protocol)


def venue_from_settings(settings: Settings) -> SandboxVenue:
    """The configured sandbox; with QARI_SANDBOX_FEED one following that venue's live market (read at
    QARI_SANDBOX_FEED_URL when set instead of the venue's own URL), or, when it cannot be read, the
    synthetic market with the reason in the log and on `venue.notice` (shown by /healthz)."""
    if settings.sandbox_feed is not None:
        feed = LiveFeed(settings.sandbox_feed, base_url=settings.sandbox_feed_url)
        try:
            feed.start()
        except FeedUnreachable as e:
            notice = f"sandbox feed: {settings.sandbox_feed} unreachable, using the synthetic market ({e})"
            log.warning("%s", notice)
        else:
            return build_venue(feed=feed)
        venue = _configured_venue(settings)
        venue.notice = notice
        return venue
    return _configured_venue(settings)


def _configured_venue(settings: Settings) -> SandboxVenue:
    start = settings.sandbox_start
    return build_venue(
        data_dir=settings.sandbox_data,
        synthetic_seed=settings.sandbox_synthetic_seed,
        speed=settings.effective_sandbox_speed,
        symbols=settings.sandbox_symbol_list,
        replay_start_ms=None if start is None else to_ms(start),
        scenarios=True,
        protocol=settings.sandbox_protocol,
    )


Dispatch = Callable[[SandboxVenue, Request, str], Awaitable[Response]]

# protocol -> (the path prefixes it serves, its dispatcher)
PROTOCOLS: dict[str, tuple[tuple[str, ...], Dispatch]] = {
    "bybit": (("/v5/",), bybit_api.dispatch),
    "binance": (binance_api.PREFIXES, binance_api.dispatch),
    "okx": (okx_api.PREFIXES, okx_api.dispatch),
}


class ProtocolFastPath:
    """Serves the venue's protocol paths straight from the ASGI scope (no FastAPI routing or dependency
    solving: those paths are hot); everything else, the admin API, goes on to FastAPI."""

    def __init__(self, app: ASGIApp, get_venue: Callable[[], SandboxVenue]) -> None:
        self.app = app
        self.get_venue = get_venue

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if not path.startswith("/admin"):
                venue = self.get_venue()
                prefixes, dispatch = PROTOCOLS[venue.protocol]
                if path.startswith(prefixes):
                    response = await dispatch(venue, Request(scope, receive), path)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def create_sandbox_app(
    venue: SandboxVenue | Callable[[], SandboxVenue],
    *,
    admin_token: str | None = None,
    authorize: Callable[[Request], Awaitable[None]] | None = None,
) -> FastAPI:
    """The venue over HTTP. The admin API takes `admin_token` as a bearer token (a random one when
    None: `app.state.admin_token`) or, when given, whatever `authorize` lets through."""
    holder: list[SandboxVenue] = [venue] if isinstance(venue, SandboxVenue) else []
    factory = venue if not isinstance(venue, SandboxVenue) else None

    def get_venue() -> SandboxVenue:
        if not holder:
            assert factory is not None
            holder.append(factory())
        return holder[0]

    app = FastAPI(
        title="QARI sandbox exchange (Bybit v5 / Binance spot / OKX v5)",
        docs_url="/admin/docs",
        openapi_url="/admin/openapi.json",
    )
    app.state.get_venue = get_venue
    app.state.admin_token = admin_token or secrets.token_urlsafe(32)
    app.state.authorize = authorize
    app.include_router(admin_router)

    app.add_middleware(ProtocolFastPath, get_venue=get_venue)
    return app


def sandbox_path(settings: Settings) -> str:
    """Where the platform mounts its sandbox: named after the protocol it speaks (QARI_SANDBOX_PROTOCOL)."""
    return f"/sandbox/{settings.sandbox_protocol}"


def sandbox_problem(get_venue: Callable[[], SandboxVenue]) -> str | None:
    """Why the mounted sandbox cannot serve (its replay files unreadable), or None: asked by the health
    check, the one-click connect and the speed control, which answer it in words instead of a 500."""
    try:
        get_venue()
    except (OSError, ValueError) as e:  # CandleFileError is a ValueError
        return f"the built-in sandbox cannot start: its market data cannot be read ({e})"
    return None


def sandbox_notice(get_venue: Callable[[], SandboxVenue]) -> str | None:
    """What the health check should say about a sandbox that serves, but not as configured: its live
    feed fell back to the synthetic market at start, or the followed prices went stale."""
    try:
        venue = get_venue()
    except (OSError, ValueError):
        return None  # `sandbox_problem` says it
    source = venue.exchange.source
    return venue.notice or (source.problem() if isinstance(source, LiveFeed) else None)


def sandbox_base_url(settings: Settings) -> str:
    """Where the platform's own sandbox answers (what a user pastes as the exchange URL)."""
    return settings.base_url.rstrip("/") + sandbox_path(settings)


def mount_sandbox(
    app: FastAPI, settings: Settings, *, authorize: Callable[[Request], Awaitable[None]] | None = None
) -> FastAPI:
    """Mount the sandbox inside the platform at /sandbox/<protocol>; the venue is built on first use.
    `app.state.sandbox_venue()` returns it (for in-process use by the engine and the one-click key).
    Its admin API answers QARI_SANDBOX_ADMIN_TOKEN and whoever `authorize` passes (the operator)."""
    token = settings.sandbox_admin_token.get_secret_value() if settings.sandbox_admin_token else None
    sandbox = create_sandbox_app(
        lambda: venue_from_settings(settings), admin_token=token, authorize=authorize
    )
    app.mount(sandbox_path(settings), sandbox)
    app.state.sandbox_venue = sandbox.state.get_venue
    return sandbox


__all__ = [
    "build_venue",
    "create_sandbox_app",
    "mount_sandbox",
    "sandbox_base_url",
    "sandbox_notice",
    "sandbox_path",
    "sandbox_problem",
    "venue_from_settings",
]
