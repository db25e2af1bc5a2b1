"""API routes: register, login (cookie + bearer), logout, password change, TOTP two-factor."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request, Response, status

from qari.services import accounts, credentials
from qari.services.errors import ServiceError
from qari.web import security
from qari.web.deps import ClockDep, CurrentUser, SessionCacheDep, SessionDep, SettingsDep, VaultDep
from qari.web.headers import cookies_secure
from qari.web.ratelimit import registration_limit
from qari.web.schemas.accounts import (
    Credentials,
    LoginRequest,
    PasswordChange,
    PasswordRules,
    RegistrationAccepted,
    TokenPublic,
    TotpCode,
    TotpDisable,
    TotpEnrolment,
)

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RegistrationAccepted,
    dependencies=[Depends(registration_limit)],
)
async def register(body: Credentials, session: SessionDep, clock: ClockDep) -> RegistrationAccepted:
    """Create an account; the first account of a fresh install becomes the operator.

    New and already registered e-mails get the same 202 after the same hashing work (registration
    must not tell who has an account); then log in: `GET /api/v1/me` shows the account and plan."""
    await accounts.register(session, email=body.email, password=body.password, now=clock.now())
    await session.commit()
    return RegistrationAccepted(detail=accounts.REGISTERED)


@router.get("/password-rules", response_model=PasswordRules)
async def password_rules() -> PasswordRules:
    """Every rule a new password must meet (the register page lists them)."""
    return PasswordRules(rules=list(credentials.PASSWORD_RULES))


@router.post("/login", response_model=TokenPublic)
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    vault: VaultDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> TokenPublic:
    """Sets an HttpOnly SameSite session cookie (browsers) and returns a bearer token (API clients)."""
    ttl = dt.timedelta(hours=settings.session_ttl_hours)
    try:
        result = await accounts.login(
            session,
            vault,
            email=body.email,
            password=body.password,
            totp_code=body.totp_code,
            ip=request.client.host if request.client else "unknown",
            now=clock.now(),
            ttl=ttl,
        )
    except ServiceError:
        await session.commit()  # the failed attempt counts towards the lockout
        raise
    await session.commit()
    max_age = int(ttl.total_seconds())
    common = {"max_age": max_age, "samesite": "lax", "secure": cookies_secure(request, settings), "path": "/"}
    response.set_cookie(security.SESSION_COOKIE, result.token, httponly=True, **common)  # type: ignore[arg-type]
    response.set_cookie(security.CSRF_COOKIE, result.csrf_token, httponly=False, **common)  # type: ignore[arg-type]
    return TokenPublic(access_token=result.token, csrf_token=result.csrf_token, expires_at=result.expires_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    request: Request, user: CurrentUser, session: SessionDep, cache: SessionCacheDep
) -> Response:
    await accounts.logout(session, request.state.session_token, user_id=user.id)
    await session.commit()
    cache.discard(request.state.session_key)  # after the commit: a lookup in between finds no row
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    response.delete_cookie(security.CSRF_COOKIE, path="/")
    return response


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChange,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    cache: SessionCacheDep,
) -> None:
    """Change the password; every other session of this user is logged out."""
    await accounts.change_password(
        session,
        user,
        current=body.current_password,
        new=body.new_password,
        keep_token=request.state.session_token,
        now=clock.now(),
    )
    await session.commit()
    cache.discard_user(user.id, keep=request.state.session_key)


@router.post("/totp/setup", response_model=TotpEnrolment)
async def totp_setup(
    user: CurrentUser, session: SessionDep, vault: VaultDep, clock: ClockDep
) -> TotpEnrolment:
    """Start two-factor enrolment: add the returned secret to an authenticator app, then confirm."""
    seed, uri = await accounts.totp_begin(session, vault, user, now=clock.now())
    await session.commit()
    return TotpEnrolment(secret=seed, otpauth_uri=uri)


@router.post("/totp/enable", status_code=status.HTTP_204_NO_CONTENT)
async def totp_enable(
    body: TotpCode,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    vault: VaultDep,
    clock: ClockDep,
    cache: SessionCacheDep,
) -> None:
    """Turn two-factor login on; the user's other sessions are logged out."""
    await accounts.totp_enable(
        session, vault, user, code=body.code, keep_token=request.state.session_token, now=clock.now()
    )
    await session.commit()
    cache.discard_user(user.id, keep=request.state.session_key)


@router.post("/totp/disable", status_code=status.HTTP_204_NO_CONTENT)
async def totp_disable(
    body: TotpDisable, user: CurrentUser, session: SessionDep, vault: VaultDep, clock: ClockDep
) -> None:
    await accounts.totp_disable(session, vault, user, password=body.password, code=body.code, now=clock.now())
    await session.commit()
