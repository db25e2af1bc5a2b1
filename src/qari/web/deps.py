"""Typed FastAPI dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.persistence.tables.accounts import LoginSession, Plan, User
from qari.config import Settings
from qari.ports import Clock
from qari.services import credentials
from qari.services.exchange_keys import Keyring
from qari.web import security
from qari.web.session_cache import CachedSession, SessionCache

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
    """The logged-in user. Cookie-authenticated unsafe requests must echo the CSRF token in a header;
    bearer-authenticated requests need not (browsers never attach bearer tokens by themselves)."""
    return await _current_user(request, session, clock, request.app.state.session_cache)


async def _current_user(request: Request, session: AsyncSession, clock: Clock, cache: SessionCache) -> User:
    token, via_cookie = request_token(request)
    if not token:
        raise HTTPException(401, _LOGIN_FIRST, {"WWW-Authenticate": "Bearer"})
    key = credentials.token_hash(token)
    found = await _login_session(session, cache, key)
    user = None
    if found is not None and found.expires_at > clock.now():
        # The user's plan comes in the same statement: it lands in the session, so the plan status
        # of /me and the dashboard reads it from there (`session.get`) instead of one more query.
        # The request holds it: the session's identity map keeps only weak references.
        query = select(User, Plan).join(Plan, Plan.tier == User.plan_tier).where(User.id == found.user_id)
        row = (await session.execute(query)).first()
        if row is not None:
            user, request.state.user_plan = row
    if found is None or user is None:
        raise HTTPException(
            401, "session expired or logged out: log in again", {"WWW-Authenticate": "Bearer"}
        )
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
    return user


async def _login_session(session: AsyncSession, cache: SessionCache, key: str) -> CachedSession | None:
    """The session row of token hash `key`, from this process's cache (see web/session_cache.py for how
    long a revocation elsewhere takes to reach it) or the database."""
    cached = cache.get(key)
    if cached is not None:
        return cached
    epoch = cache.epoch
    row = await session.get(LoginSession, key)
    if row is None:
        return None
    found = CachedSession(row.user_id, row.csrf_token, row.expires_at)
    cache.put(key, found, epoch)
    return found


async def get_session_cache(request: Request) -> SessionCache:
    cache: SessionCache = request.app.state.session_cache
    return cache


SessionCacheDep = Annotated[SessionCache, Depends(get_session_cache)]


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
OperatorUser = Annotated[User, Depends(get_operator)]
