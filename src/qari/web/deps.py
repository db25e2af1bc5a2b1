"""Typed FastAPI dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence.tables.accounts import LoginSession, Plan, User
from qari.config import Settings
from qari.ports import Clock
from qari.services import credentials
from qari.services.exchange_keys import Keyring
from qari.web import security
from qari.web.read_cache import UserReadCache
from qari.web.session_cache import CachedAccount, CachedPlan, CachedSession, SessionCache

# Ids and offsets beyond what the databases store answer 422, not a 500 from the driver (issue 16):
# PostgreSQL INTEGER holds 2^31 - 1 (SQLite 2^63 - 1).
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


# The dependencies below only read app state: `async def`, because FastAPI runs a plain `def` dependency
# in its thread pool, a thread hop on every request that needs it (every authenticated one: the clock).


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


async def get_sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    """The session factory, for a route that needs a database session only sometimes (a cache miss)."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


async def get_vault(request: Request) -> Keyring:
    vault: Keyring = request.app.state.vault
    return vault


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_market_clock(request: Request) -> Clock:
    """The clock trading times are on: the engine's (the sandbox market's, accelerated in the demo) when
    it runs, so R-tracker days, equity points and fills share one clock; else the real time."""
    clock: Clock | None = getattr(request.app.state, "market_clock", None)
    return clock if clock is not None else await get_clock(request)


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessions)]
VaultDep = Annotated[Keyring, Depends(get_vault)]
ClockDep = Annotated[Clock, Depends(get_clock)]
MarketClockDep = Annotated[Clock, Depends(get_market_clock)]

_LOGIN_FIRST = "log in first: send the qari_session cookie or an 'Authorization: Bearer <token>' header"


def request_token(request: Request) -> tuple[str | None, bool]:
    """(token, came_from_cookie). A malformed Authorization header is a 401, not a fallback."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise HTTPException(
                401, "Authorization header must be 'Bearer <token>'", {"WWW-Authenticate": "Bearer"}
            )
        return value.strip(), False
    return request.cookies.get(security.SESSION_COOKIE), True


async def get_current_user(request: Request, session: SessionDep, clock: ClockDep) -> User:
    """The logged-in user, read afresh (routes that write, the operator's). Cookie-authenticated unsafe
    requests must echo the CSRF token in a header; bearer-authenticated requests need not (browsers
    never attach bearer tokens by themselves)."""
    return await _current_user(request, session, clock, request.app.state.session_cache)


async def _current_user(request: Request, session: AsyncSession, clock: Clock, cache: SessionCache) -> User:
    found = await _authenticated(request, clock, cache, lambda: _Borrowed(session))
    # The user's plan comes in the same statement: it lands in the session, so the plan status
    # of /me and the dashboard reads it from there (`session.get`) instead of one more query.
    # The request holds it: the session's identity map keeps only weak references.
    query = select(User, Plan).join(Plan, Plan.tier == User.plan_tier).where(User.id == found.user_id)
    row = (await session.execute(query)).first()
    if row is None:
        raise HTTPException(401, _LOGGED_OUT, {"WWW-Authenticate": "Bearer"})
    user, request.state.user_plan = row
    return user


async def get_account(request: Request) -> CachedAccount:
    """The logged-in user as of the session lookup, for the read-only routes of the user's own data
    (GET /me, GET /positions): no statement at all while the lookup is cached. A change to the user's
    row reaches it with the session's own invalidation (web/session_cache.py); anything that writes or
    decides on the operator flag takes `CurrentUser`, read afresh."""
    state = request.app.state
    found = await _authenticated(request, state.clock, state.session_cache, state.sessions)
    assert found.account is not None  # every lookup stores one
    return found.account


_LOGGED_OUT = "session expired or logged out: log in again"


async def _authenticated(
    request: Request, clock: Clock, cache: SessionCache, sessions: Callable[[], Any]
) -> CachedSession:
    """The request's session (401 without a live one; 403 for a cookie-authenticated unsafe request
    without the CSRF header). `sessions()` opens a database session, used only when not cached."""
    token, via_cookie = request_token(request)
    if not token:
        raise HTTPException(401, _LOGIN_FIRST, {"WWW-Authenticate": "Bearer"})
    key = credentials.token_hash(token)
    found = cache.get(key)
    if found is None:
        async with cache.lookups.hold(key):  # concurrent misses of one token: one statement
            found = cache.get(key)
            if found is None:
                epoch = cache.epoch
                async with sessions() as session:
                    found = await _lookup(session, key)
                if found is not None:
                    cache.put(key, found, epoch)
    if found is None or found.expires_at <= clock.now():
        raise HTTPException(401, _LOGGED_OUT, {"WWW-Authenticate": "Bearer"})
    if via_cookie and request.method not in security.SAFE_METHODS:
        sent = request.headers.get(security.CSRF_HEADER, "")
        if not sent or not security.same(sent, found.csrf_token):
            raise HTTPException(
                403,
                f"CSRF check failed: send the {security.CSRF_HEADER} header with the value of the "
                f"{security.CSRF_COOKIE} cookie",
            )
    request.state.session_token = token
    request.state.session_key = key
    return found


class _Borrowed:
    """A request's own database session as an `async with` that leaves it open."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def __aenter__(self) -> AsyncSession:
        return self._session

    async def __aexit__(self, *_: object) -> None:
        return None


_LOOKUP = (
    select(
        LoginSession.user_id,
        LoginSession.csrf_token,
        LoginSession.expires_at,
        User.email,
        User.is_operator,
        User.created_at,
        User.totp_enabled,
        User.trial_ends_at,
        User.plan_active_until,
        User.waiver,
        Plan.tier,
        Plan.name,
        Plan.capacity,
        Plan.price_usd_month,
        Plan.features,
    )
    .join(User, User.id == LoginSession.user_id)
    .join(Plan, Plan.tier == User.plan_tier)
)


async def _lookup(session: AsyncSession, key: str) -> CachedSession | None:
    """The session row of token hash `key` with its user and plan, in one statement."""
    row = (await session.execute(_LOOKUP.where(LoginSession.token_hash == key))).first()
    if row is None:
        return None
    (user_id, csrf, expires, email, operator, created, totp, trial_ends, until, waiver, *plan) = row
    tier, name, capacity, price, features = plan
    terms = CachedPlan(tier, name, capacity, price, tuple(features or ()))
    account = CachedAccount(user_id, email, operator, created, totp, trial_ends, until, waiver, terms)
    return CachedSession(user_id, csrf, expires, account)


async def get_session_cache(request: Request) -> SessionCache:
    cache: SessionCache = request.app.state.session_cache
    return cache


SessionCacheDep = Annotated[SessionCache, Depends(get_session_cache)]


async def get_read_cache(request: Request) -> UserReadCache:
    cache: UserReadCache = request.app.state.read_cache
    return cache


ReadCacheDep = Annotated[UserReadCache, Depends(get_read_cache)]


async def get_operator(user: Annotated[User, Depends(get_current_user)]) -> User:
    if not user.is_operator:
        raise HTTPException(403, "operator only: this action needs the platform operator's account")
    return user


def operator_of_platform(platform: FastAPI) -> Callable[[Request], Awaitable[None]]:
    """A check for apps mounted inside the platform (the sandbox's admin API): passes for the
    operator's session (cookie + CSRF, or bearer) of `platform`, else raises 401/403. The mounted
    app's own `request.app` is not the platform, hence the explicit one."""

    async def authorize(request: Request) -> None:
        async with platform.state.sessions() as session:
            user = await _current_user(request, session, platform.state.clock, platform.state.session_cache)
            await get_operator(user)

    return authorize


CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentAccount = Annotated[CachedAccount, Depends(get_account)]
OperatorUser = Annotated[User, Depends(get_operator)]
