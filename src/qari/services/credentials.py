"""Credentials: Argon2id password hashing and policy, session tokens, TOTP."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

from qari.logging import mask_in_request, register_secret

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
# zxcvbn (Dropbox's estimator: common-password lists, keyboard walks, l33t, dates) scores 0-4;
# 3 is "safely unguessable" against an online attack and refuses `Password1234` and `P@ssw0rd2024`.
MIN_STRENGTH = 3
PASSWORD_RULES = (
    f"at least {MIN_PASSWORD_LENGTH} and at most {MAX_PASSWORD_LENGTH} characters",
    "at least three of: lower-case, upper-case, digits, symbols",
    "no spaces at the start or end",
    "not your e-mail name",
    "at least 6 different characters",
    "not a common or easily guessed password (checked with zxcvbn: no common words with digits "
    "or symbol swaps, keyboard patterns, repeats or dates)",
)

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def set_hash_cost(*, time_cost: int, memory_kib: int, parallelism: int) -> None:
    """Tune Argon2id's cost (tests use a small one; existing hashes keep verifying with their own)."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    _DUMMY_HASH = _hasher.hash("qari-dummy-password-for-timing")


def hash_password(password: str) -> str:
    mask_in_request(password)
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    mask_in_request(password)
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = _hasher.hash("qari-dummy-password-for-timing")


def burn_verify_time(password: str) -> None:
    """Spend the time of a real verify so unknown e-mails cannot be told apart by timing."""
    verify_password(_DUMMY_HASH, password)


# Argon2id costs ~50 ms of CPU and 64 MiB per hash: it runs on its own small pool (argon2-cffi releases
# the GIL), so registrations and logins never stall the event loop (health checks, live events) and
# a core stays free for the loop and few hashes hold memory at once (issue 16).
_argon2_pool = ThreadPoolExecutor(
    max_workers=max(1, min(4, (os.cpu_count() or 2) - 1)), thread_name_prefix="argon2"
)
_T = TypeVar("_T")


async def _off_loop(fn: Callable[..., _T], *args: str) -> _T:
    context = contextvars.copy_context()  # the request's log-masking scope goes along
    return await asyncio.get_running_loop().run_in_executor(_argon2_pool, context.run, fn, *args)


async def hash_password_async(password: str) -> str:
    return await _off_loop(hash_password, password)


async def verify_password_async(password_hash: str, password: str) -> bool:
    return await _off_loop(verify_password, password_hash, password)


async def burn_verify_time_async(password: str) -> None:
    await _off_loop(burn_verify_time, password)


def password_problems(password: str, *, email: str = "") -> list[str]:
    """Why a password is refused (empty when it is acceptable); each reason says what to change."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"use at least {MIN_PASSWORD_LENGTH} characters (got {len(password)})")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"use at most {MAX_PASSWORD_LENGTH} characters")
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if classes < 3:
        problems.append("mix at least three of: lower-case, upper-case, digits, symbols")
    if password.strip() != password:
        problems.append("do not start or end with spaces")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in password.lower():
        problems.append("do not include your e-mail name in the password")
    if len(set(password)) < 6:
        problems.append("use more different characters")
    if not problems:
        # zxcvbn's cost grows with the length; it only runs on a password that passed the bounds above.
        verdict = zxcvbn(password, user_inputs=[local, email.lower()] if email else [])
        if verdict["score"] < MIN_STRENGTH:
            warning = verdict["feedback"].get("warning") or "it is easy to guess"
            problems.append(f"choose a less guessable password ({warning.rstrip('.')})")
    return problems


def new_token() -> str:
    """Session and CSRF tokens; logs mask them by shape (Authorization / cookie / token= values)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_totp_seed() -> str:
    seed = pyotp.random_base32()
    register_secret(seed)
    return seed


def totp_uri(seed: str, email: str) -> str:
    return pyotp.TOTP(seed).provisioning_uri(name=email, issuer_name="QARI")


def totp_step(seed: str, code: str, *, at: float) -> int | None:
    """The 30-second time step `code` belongs to: the current one or one either side (clock drift)."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(seed)
    now_step = int(at) // totp.interval
    for step in (now_step, now_step - 1, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
