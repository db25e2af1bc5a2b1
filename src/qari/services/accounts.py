"""Account use cases: registration, login with lockout and optional TOTP, sessions, password change,
operator actions and the audit log. Callers pass `now` and own the transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from qari.adapters.persistence.live import note_change
from qari.adapters.persistence.tables.accounts import (
    AuditEntry,
    LoginAttempt,
    LoginSession,
    PlatformState,
    User,
    UserSettings,
)
from qari.adapters.signer.client import SignerClient
from qari.adapters.vault import SecretVault
from qari.adapters.vault.repository import erase_secret, load_secret, store_sealed, store_secret
from qari.services import credentials, plans
from qari.services.errors import ServiceError

LOCKOUT_WINDOW = dt.timedelta(minutes=15)
FREE_FAILURES = 5  # wrong passwords one client may try on one account before it must wait
FIRST_WAIT = dt.timedelta(seconds=30)  # then doubling with each further failure, up to LOCKOUT_WINDOW
MAX_FAILURES_PER_IP = 30
TOTP_EXCHANGE = "qari"
TOTP_PURPOSE = "totp"
WRONG_CREDENTIALS = "wrong e-mail or password"
REGISTERED = (
    "account request received: log in with this e-mail and password. If the e-mail already had an "
    "account, that account and its password are unchanged."
)


def normalise_email(email: str) -> str:
    """The address in lower case, or 422: `email-validator` refuses NUL, spaces, `<`, `>` and other
    characters outside RFC 5322 / 6531 (special-use domains are allowed: self-hosted installs)."""
    try:
        valid = validate_email(email.strip(), check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError:
        raise ServiceError(422, "email: enter a valid e-mail address such as name@example.com") from None
    normalised = valid.normalized.lower()
    if len(normalised) > 254:
        raise ServiceError(422, "email: enter a valid e-mail address such as name@example.com")
    return normalised


async def audit(
    session: AsyncSession, *, now: dt.datetime, actor: int | None, action: str, **detail: Any
) -> None:
    session.add(AuditEntry(at=now, actor_user_id=actor, action=action, detail=detail))


async def register(session: AsyncSession, *, email: str, password: str, now: dt.datetime) -> User | None:
    """Create the account (operator if it is the install's first) with its default settings.

    An e-mail that already has an account returns None after the same password-hashing work, and
    the route answers both cases alike, so registration does not tell who has an account."""
    email = normalise_email(email)
    problems = credentials.password_problems(password, email=email)
    if problems:
        raise ServiceError(422, "password: " + "; ".join(problems))
    password_hash = await credentials.hash_password_async(password)
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        return None
    user = User(
        email=email,
        password_hash=password_hash,
        is_operator=False,
        plan_tier="trial",
        trial_ends_at=plans.trial_end(now),
        waiver=False,
        totp_enabled=False,
        created_at=now,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent registration of the same e-mail won the race
        await session.rollback()
        return None
    first = user.is_operator = await _claim_operator(session, user.id)
    session.add(UserSettings(user_id=user.id))
    await audit(session, now=now, actor=user.id, action="user.registered", operator=first)
    return user


async def _claim_operator(session: AsyncSession, user_id: int) -> bool:
    """True for exactly one account per install: a conditional UPDATE of the single platform row.

    A concurrent first registration waits on the row lock (PostgreSQL) or the write lock (SQLite)
    and then finds the role taken; counting users first would let both see an empty install."""
    await platform_state(session)
    claimed = await session.execute(
        update(PlatformState)
        .where(PlatformState.id == 1, PlatformState.operator_user_id.is_(None))
        .values(operator_user_id=user_id)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _backoff(failures: list[dt.datetime], now: dt.datetime) -> int | None:
    """Seconds one client must still wait on one account: none for the first FREE_FAILURES, then
    FIRST_WAIT doubling per further failure (capped at LOCKOUT_WINDOW) from the latest one."""
    extra = len(failures) - FREE_FAILURES
    if extra < 0:
        return None
    wait = min(FIRST_WAIT * 2**extra, LOCKOUT_WINDOW)
    seconds = int((max(failures) + wait - now).total_seconds()) + 1
    return seconds if seconds > 0 else None


def _ip_wait(failures: list[dt.datetime], now: dt.datetime) -> int | None:
    if len(failures) < MAX_FAILURES_PER_IP:
        return None
    seconds = int((sorted(failures)[-MAX_FAILURES_PER_IP] + LOCKOUT_WINDOW - now).total_seconds()) + 1
    return seconds if seconds > 0 else None


async def _lockout(session: AsyncSession, *, email: str, ip: str, now: dt.datetime) -> int | None:
    """Seconds until this client may try this e-mail again (or any e-mail, after many failures
    across accounts), or None. The lock is per (account, client): failures from elsewhere never
    lock the owner out."""
    since = now - LOCKOUT_WINDOW
    last_success = await session.scalar(
        select(func.max(LoginAttempt.id)).where(
            LoginAttempt.email == email, LoginAttempt.ip == ip, LoginAttempt.success.is_(True)
        )
    )
    failed = (LoginAttempt.success.is_(False), LoginAttempt.at > since)
    by_pair = list(
        (
            await session.execute(
                select(LoginAttempt.at).where(
                    LoginAttempt.email == email,
                    LoginAttempt.ip == ip,
                    LoginAttempt.id > (last_success or 0),
                    *failed,
                )
            )
        ).scalars()
    )
    by_ip = list(
        (await session.execute(select(LoginAttempt.at).where(LoginAttempt.ip == ip, *failed))).scalars()
    )
    waits = [w for w in (_backoff(by_pair, now), _ip_wait(by_ip, now)) if w]
    return max(waits) if waits else None


async def _failed(session: AsyncSession, *, email: str, ip: str, now: dt.datetime) -> None:
    session.add(LoginAttempt(email=email, ip=ip, at=now, success=False))
    await session.flush()


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str
    csrf_token: str
    expires_at: dt.datetime


async def login(
    session: AsyncSession,
    vault: SecretVault | SignerClient,
    *,
    email: str,
    password: str,
    totp_code: str | None,
    ip: str,
    now: dt.datetime,
    ttl: dt.timedelta,
) -> LoginResult:
    """Check credentials (and the TOTP code when enabled) under the lockout policy; open a session.

    Failed attempts are recorded in the caller's transaction, which must be committed even when
    this raises. A wrong e-mail and a wrong password get the same answer; only a correct password
    of an account with two-factor login on is told that a code is needed (`code` in the error).
    """
    try:
        email = normalise_email(email)  # the form registration stored
    except ServiceError:
        email = email.replace("\x00", "").strip().lower()[:254]  # no account; answered like unknown ones
    wait = await _lockout(session, email=email, ip=ip, now=now)
    if wait and not totp_code:  # refused before any hashing: a locked client costs nothing
        raise ServiceError(
            429,
            f"too many failed logins: try again in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        await credentials.burn_verify_time_async(password)
        ok = False
    else:
        ok = await credentials.verify_password_async(user.password_hash, password)
    # A locked client still gets in with the right password *and* a valid second factor (what a
    # password guesser lacks); anything else is the same 429, so the lock is no password oracle.
    if wait and not (ok and user is not None and user.totp_enabled and totp_code):
        raise ServiceError(
            429,
            f"too many failed logins: try again in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )
    if not ok or user is None:
        await _failed(session, email=email, ip=ip, now=now)
        raise ServiceError(401, WRONG_CREDENTIALS, code="wrong_credentials")
    if user.totp_enabled:
        if not totp_code:
            raise ServiceError(
                401,
                "two-factor code required: send totp_code from your authenticator app",
                code="totp_required",
            )
        if not await _accept_totp(session, vault, user, totp_code, now):
            await _failed(session, email=email, ip=ip, now=now)
            raise ServiceError(
                401,
                "wrong two-factor code: enter the current 6-digit code from your authenticator app",
                code="totp_invalid",
            )
    session.add(LoginAttempt(email=email, ip=ip, at=now, success=True))
    # Housekeeping: attempts older than the lockout window no longer matter, nor do expired sessions.
    await session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - 2 * LOCKOUT_WINDOW))
    await session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    token, csrf = credentials.new_token(), credentials.new_token()
    expires = now + ttl
    session.add(
        LoginSession(
            token_hash=credentials.token_hash(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
        )
    )
    await audit(session, now=now, actor=user.id, action="user.login", ip=ip)
    await session.flush()
    return LoginResult(user, token, csrf, expires)


async def resolve_session(
    session: AsyncSession, token: str, *, now: dt.datetime
) -> tuple[User, LoginSession] | None:
    row = await session.get(LoginSession, credentials.token_hash(token))
    if row is None or row.expires_at <= now:
        return None
    user = await session.get(User, row.user_id)
    return (user, row) if user is not None else None


async def logout(session: AsyncSession, token: str, *, user_id: int | None = None) -> None:
    """End the login session of `token`; with `user_id`, its live-update streams close now (else
    at their next keep-alive)."""
    await session.execute(
        delete(LoginSession).where(LoginSession.token_hash == credentials.token_hash(token))
    )
    if user_id is not None:
        note_change(session, user_id, "session")


async def change_password(
    session: AsyncSession, user: User, *, current: str, new: str, keep_token: str | None, now: dt.datetime
) -> None:
    """Replace the password; every other session of the user is ended."""
    if not await credentials.verify_password_async(user.password_hash, current):
        raise ServiceError(403, "current_password: that is not your current password")
    problems = credentials.password_problems(new, email=user.email)
    if new == current:
        problems.append("choose a password different from the current one")
    if problems:
        raise ServiceError(422, "new_password: " + "; ".join(problems))
    user.password_hash = await credentials.hash_password_async(new)
    user.password_changed_at = now
    stmt = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep_token:
        stmt = stmt.where(LoginSession.token_hash != credentials.token_hash(keep_token))
    await session.execute(stmt)
    note_change(session, user.id, "session")  # the ended sessions' live streams close
    await audit(session, now=now, actor=user.id, action="user.password_changed")


# --- TOTP -----------------------------------------------------------------------------------------


async def _totp_seed(session: AsyncSession, vault: SecretVault, user: User) -> str | None:
    if user.totp_secret_id is None:
        return None
    return await load_secret(session, vault, user.totp_secret_id, user_id=user.id)


async def _accept_totp(
    session: AsyncSession, vault: SecretVault | SignerClient, user: User, code: str, now: dt.datetime
) -> bool:
    """A valid code for a time step later than the last one used (a code works once). With the
    signer, it opens the seed and checks the code; this process never sees the seed again."""
    step: int | None
    if isinstance(vault, SignerClient):
        step = (
            None
            if user.totp_secret_id is None
            else await vault.totp_step(user_id=user.id, secret_id=user.totp_secret_id, code=code, at=now)
        )
    else:
        seed = await _totp_seed(session, vault, user)
        step = credentials.totp_step(seed, code, at=now.timestamp()) if seed else None
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


async def totp_begin(
    session: AsyncSession, vault: SecretVault | SignerClient, user: User, *, now: dt.datetime
) -> tuple[str, str]:
    """A new (not yet enabled) TOTP seed for the user; returns (seed, otpauth URI) to show once.

    One pending seed per user: the new seed replaces the one this request saw by a conditional
    UPDATE, so of two concurrent set-ups exactly one wins and the other gets 409 (its caller rolls
    back, taking its sealed seed with it) instead of leaving an orphan ciphertext."""
    if user.totp_enabled:
        raise ServiceError(409, "two-factor login is already on; disable it first to enrol a new device")
    seen = user.totp_secret_id
    seed = credentials.new_totp_seed()  # shown once to the user: the one time it is in this process
    key_id = f"user-{user.id}"
    if isinstance(vault, SignerClient):
        sealed = await vault.seal_totp(
            seed, user_id=user.id, exchange=TOTP_EXCHANGE, key_id=key_id, purpose=TOTP_PURPOSE
        )
        new_id = await store_sealed(
            session, sealed, user_id=user.id, exchange=TOTP_EXCHANGE, key_id=key_id, purpose=TOTP_PURPOSE
        )
    else:
        new_id = await store_secret(
            session,
            vault,
            user_id=user.id,
            exchange=TOTP_EXCHANGE,
            key_id=key_id,
            purpose=TOTP_PURPOSE,
            plaintext=seed,
        )
    claimed = await session.execute(
        update(User)
        .where(
            User.id == user.id,
            User.totp_enabled.is_(False),
            User.totp_secret_id.is_(None) if seen is None else User.totp_secret_id == seen,
        )
        .values(totp_secret_id=new_id)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise ServiceError(409, "another two-factor set-up of this account is in progress: try again")
    set_committed_value(user, "totp_secret_id", new_id)
    if seen is not None:
        await erase_secret(session, seen)
    await audit(session, now=now, actor=user.id, action="user.totp_setup")
    return seed, credentials.totp_uri(seed, user.email)


async def totp_enable(
    session: AsyncSession,
    vault: SecretVault | SignerClient,
    user: User,
    *,
    code: str,
    keep_token: str | None,
    now: dt.datetime,
) -> None:
    """Turn two-factor login on; every other session of the user ends (they were opened with the
    password alone, perhaps by whoever made the user want a second factor)."""
    if user.totp_enabled:
        raise ServiceError(409, "two-factor login is already on")
    if user.totp_secret_id is None:
        raise ServiceError(409, "start two-factor set-up first (POST /api/v1/auth/totp/setup)")
    if not await _accept_totp(session, vault, user, code, now):
        raise ServiceError(422, "code: that code is not valid; check your authenticator app's time and retry")
    user.totp_enabled = True
    stmt = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep_token:
        stmt = stmt.where(LoginSession.token_hash != credentials.token_hash(keep_token))
    await session.execute(stmt)
    note_change(session, user.id, "session")
    await audit(session, now=now, actor=user.id, action="user.totp_enabled")


async def totp_disable(
    session: AsyncSession,
    vault: SecretVault | SignerClient,
    user: User,
    *,
    password: str,
    code: str,
    now: dt.datetime,
) -> None:
    if not await credentials.verify_password_async(user.password_hash, password):
        raise ServiceError(403, "password: that is not your current password")
    if not user.totp_enabled or user.totp_secret_id is None:
        raise ServiceError(409, "two-factor login is not on")
    if not await _accept_totp(session, vault, user, code, now):
        raise ServiceError(422, "code: that code is not valid")
    if user.totp_secret_id is not None:
        await erase_secret(session, user.totp_secret_id)
    user.totp_secret_id = None
    user.totp_enabled = False
    await audit(session, now=now, actor=user.id, action="user.totp_disabled")


# --- operator -------------------------------------------------------------------------------------


async def platform_state(session: AsyncSession) -> PlatformState:
    state = await session.get(PlatformState, 1)
    if state is None:
        state = PlatformState(id=1, engine_enabled=True, kill_switch=False, blacklist=[])
        session.add(state)
        await session.flush()
    return state


async def get_user_or_404(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise ServiceError(404, f"no user {user_id}")
    return user


async def set_plan(
    session: AsyncSession,
    operator: User,
    user_id: int,
    *,
    tier: str,
    active_until: dt.datetime | None,
    now: dt.datetime,
) -> User:
    if tier not in (await plans.load_plans(session)):
        raise ServiceError(422, f"tier: choose one of {', '.join(plans.TIERS)}")
    user = await get_user_or_404(session, user_id)
    user.plan_tier = tier
    user.plan_active_until = active_until
    await audit(session, now=now, actor=operator.id, action="plan.set", user_id=user_id, tier=tier)
    return user


async def set_waiver(
    session: AsyncSession, operator: User, user_id: int, *, granted: bool, now: dt.datetime
) -> User:
    user = await get_user_or_404(session, user_id)
    user.waiver = granted
    await audit(
        session,
        now=now,
        actor=operator.id,
        action="waiver.granted" if granted else "waiver.revoked",
        user_id=user_id,
    )
    return user
