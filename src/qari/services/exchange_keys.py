"""Connect Exchange (PRODUCT.md §3.2): verify, classify and guard a user's API key.

- `connect`: validate input, run the read-only key check (`adapters.exchanges.inspection`), and only
  when the verdict is Connected seal the key in the vault and insert the connection. Anything else
  raises `KeyRefusedError` and **nothing is written** (no row, no ciphertext).
- `replace`: the same check for a new key; the old key stays until the new one is Connected.
- `verify` / `reverify_due`: re-check stored keys (hourly from the engine, and before trading resumes);
  a key that turned invalid or gained a forbidden permission changes status (gate check 16 then
  blocks trading) and an alert is queued in the same transaction.
- `open_client`: the factory the engine uses to get a `CcxtExchangeClient` for a stored connection.
  The client holds only the *sealed* secret; each signed call opens it (see `ccxt_client`).

Why one file of ~650 lines: it is the whole life of one stored connection (validate, check, seal,
open, re-verify, delete, the sandbox's one-click keys), whose steps share the row helpers (`_apply`,
`_caps`, `_sealed_credentials`, `get_connection`); the web routes and the signer use it as one module.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.exchanges.capabilities import (
    VENUES,
    ExchangeCapabilities,
    capabilities_for,
    venues_for,
)
from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, CcxtVenue, Credentials
from qari.adapters.exchanges.inspection import check_key
from qari.adapters.exchanges.keys import KeyCheck, KeyStatus
from qari.adapters.persistence.alerts import emit_alert
from qari.adapters.persistence.tables.accounts import VaultSecret
from qari.adapters.persistence.tables.exchange import ExchangeConnection
from qari.adapters.signer.client import SignerClient, SignerExchangeClient
from qari.adapters.simulator.venue import SandboxVenue
from qari.adapters.vault import SecretVault
from qari.adapters.vault.repository import erase_secret, sealed_of, store_sealed, store_secret
from qari.core.time import Clock, as_utc
from qari.logging import get_logger, mask_in_request, register_secret
from qari.services.errors import ServiceError

log = get_logger(__name__)

PURPOSE = "exchange_api_key"
MIN_LENGTH = 6  # real keys and secrets are 16+ characters; shorter is a paste error
MAX_KEY_LENGTH = 256
MAX_SECRET_LENGTH = 4096  # room for an RSA private key in PEM form
MAX_PASSPHRASE_LENGTH = 128
REVERIFY_AFTER = dt.timedelta(minutes=50)  # gate check 16 wants a verification younger than 1 h
SANDBOX_PAPER_USDT = "10000"
SANDBOX = "sandbox"
_TOKEN = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces
_PEM_OR_TOKEN = re.compile(r"^[\x20-\x7e\n\r]+$")

# Who seals and opens secrets: the vault in this process (embedded mode, tests), or the signer process.
Keyring = SecretVault | SignerClient


class KeyRefusedError(Exception):
    """The key check said anything but Connected; `check` says which and why."""

    def __init__(self, check: KeyCheck) -> None:
        super().__init__(check.status.value)
        self.check = check


@dataclass(frozen=True)
class Endpoints:
    """Where each exchange is reached. Real venues default to ccxt's URLs; the built-in sandbox to
    `{settings.base_url}/sandbox/<protocol>`. Tests and self-hosters may point any venue elsewhere."""

    base_urls: Mapping[str, str] = field(default_factory=dict)
    timeout_ms: int = 10_000
    # The admin token of a sandbox reached over HTTP (not the platform's own, which is used in-process).
    sandbox_admin_token: str | None = None
    # The protocol the sandbox speaks (QARI_SANDBOX_PROTOCOL): which ccxt class and venue facts it gets.
    sandbox_protocol: str = "bybit"

    def url_for(self, exchange: str) -> str | None:
        return self.base_urls.get(exchange)

    def capabilities(self, exchange: str) -> ExchangeCapabilities:
        return capabilities_for(exchange, self.sandbox_protocol)

    @property
    def venues(self) -> Mapping[str, ExchangeCapabilities]:
        return venues_for(self.sandbox_protocol)


@dataclass(frozen=True)
class KeyInput:
    exchange: str
    api_key: str
    api_secret: str
    passphrase: str | None

    def credentials(self) -> Credentials:
        return Credentials(self.api_key, self.api_secret, self.passphrase)


def _field(name: str, value: str | None, *, limit: int, pattern: re.Pattern[str], hint: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ServiceError(422, f"{name}: required — paste it from the exchange's API management page")
    if len(text) > limit:
        raise ServiceError(422, f"{name}: too long ({len(text)} characters; at most {limit})")
    if len(text) < MIN_LENGTH and name != "passphrase":
        raise ServiceError(422, f"{name}: too short ({len(text)} characters) — paste the whole value")
    if not pattern.match(text):
        raise ServiceError(422, f"{name}: {hint}")
    return text


def validate_input(
    exchange: str,
    api_key: str,
    api_secret: str,
    passphrase: str | None,
    venues: Mapping[str, ExchangeCapabilities] = VENUES,
) -> KeyInput:
    """Bad input → `ServiceError(422)` naming the field; values are never echoed back. `venues`: the
    platform's (its sandbox's protocol decides whether a sandbox key has a passphrase)."""
    name = (exchange or "").strip().lower()
    caps = venues.get(name)
    if caps is None:
        raise ServiceError(422, f"exchange: unknown exchange; choose one of {', '.join(sorted(VENUES))}")
    key = _field(
        "api_key", api_key, limit=MAX_KEY_LENGTH, pattern=_TOKEN, hint="only printable ASCII, without spaces"
    )
    secret = _field(
        "api_secret", api_secret, limit=MAX_SECRET_LENGTH, pattern=_PEM_OR_TOKEN, hint="only printable ASCII"
    )
    phrase: str | None = None
    if caps.needs_passphrase:
        if not (passphrase or "").strip():
            raise ServiceError(
                422,
                f"passphrase: {caps.name} keys have a passphrase — enter the one set when creating the key",
            )
        phrase = _field(
            "passphrase", passphrase, limit=MAX_PASSPHRASE_LENGTH, pattern=_TOKEN, hint="only printable ASCII"
        )
    for value in (key, secret, phrase):
        mask_in_request(value)  # masked in this request's log records; sealing masks it for good
    return KeyInput(name, key, secret, phrase)


def _caps(exchange: str) -> ExchangeCapabilities:
    return VENUES[exchange]


async def check_input(data: KeyInput, endpoints: Endpoints, now: dt.datetime) -> KeyCheck:
    """The read-only key check of a pasted key (where the key is: here, or in the signer)."""
    return await check_key(
        endpoints.capabilities(data.exchange),
        data.credentials(),
        now=now,
        base_url=endpoints.url_for(data.exchange),
        timeout_ms=endpoints.timeout_ms,
    )


def _apply(row: ExchangeConnection, check: KeyCheck, now: dt.datetime) -> None:
    row.status = check.status.value
    row.status_detail = check.detail[:1000]
    row.error_code = check.code
    row.checked_at = now
    row.updated_at = now
    row.reachable = check.status is not KeyStatus.UNREACHABLE
    if check.permissions is not None:
        p = check.permissions
        row.ip_restricted = p.ip_restricted
        row.ips = list(p.ips)
        row.key_expires_at = p.expires_at
        row.permissions = {
            "read": p.read,
            "spot_trade": p.spot_trade,
            "withdraw": p.withdraw,
            "transfer": p.transfer,
            "derivatives": p.derivatives,
            "margin": p.margin,
        }
    if check.connected:
        row.verified_at = now


def key_payload(data: KeyInput) -> str:
    """What is sealed for an exchange key."""
    return json.dumps({"api_key": data.api_key, "secret": data.api_secret, "passphrase": data.passphrase})


async def _check_and_seal(
    session: AsyncSession,
    vault: Keyring,
    user_id: int,
    data: KeyInput,
    endpoints: Endpoints,
    now: dt.datetime,
) -> tuple[KeyCheck, int | None]:
    """The key check and, when Connected, the sealed key's row id. With the signer, the pasted key
    goes straight to it (checked and sealed there); this process stores only the ciphertext."""
    if isinstance(vault, SignerClient):
        check, sealed, key_id = await vault.check_and_seal(
            user_id=user_id,
            exchange=data.exchange,
            api_key=data.api_key,
            api_secret=data.api_secret,
            passphrase=data.passphrase,
        )
        if sealed is None or key_id is None or not check.connected:
            return check, None
        secret_id = await store_sealed(
            session, sealed, user_id=user_id, exchange=data.exchange, key_id=key_id, purpose=PURPOSE
        )
        return check, secret_id
    check = await check_input(data, endpoints, now)
    if not check.connected:
        return check, None
    return check, await _seal(session, vault, user_id, data)


async def _seal(session: AsyncSession, vault: SecretVault, user_id: int, data: KeyInput) -> int:
    payload = key_payload(data)
    for value in (data.api_key, data.api_secret, data.passphrase):
        register_secret(value)  # stored: masked in every log record from now on
    return await store_secret(
        session,
        vault,
        user_id=user_id,
        exchange=data.exchange,
        key_id=uuid.uuid4().hex,
        purpose=PURPOSE,
        plaintext=payload,
    )


async def get_connection(session: AsyncSession, user_id: int, connection_id: int) -> ExchangeConnection:
    row = await session.get(ExchangeConnection, connection_id)
    if row is None or row.user_id != user_id:
        raise ServiceError(404, f"no exchange connection {connection_id} for this account")
    return row


async def list_connections(session: AsyncSession, user_id: int) -> list[ExchangeConnection]:
    result = await session.execute(
        select(ExchangeConnection)
        .where(ExchangeConnection.user_id == user_id)
        .order_by(ExchangeConnection.id)
    )
    return list(result.scalars())


async def connect(
    session: AsyncSession,
    vault: Keyring,
    *,
    user_id: int,
    data: KeyInput,
    endpoints: Endpoints,
    now: dt.datetime,
) -> ExchangeConnection:
    """Store the key only when it is Connected; otherwise raise `KeyRefusedError` having written nothing."""
    await ensure_unconnected(session, user_id, data.exchange)
    check, secret_id = await _check_and_seal(session, vault, user_id, data, endpoints, now)
    if secret_id is None:
        raise KeyRefusedError(check)
    row = ExchangeConnection(
        user_id=user_id,
        exchange=data.exchange,
        key_hint=data.api_key[-4:],
        secret_id=secret_id,
        ips=[],
        permissions={},
        created_at=now,
    )
    _apply(row, check, now)
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ServiceError(
            409, f"{_caps(data.exchange).name} is already connected for this account"
        ) from None
    return row


async def replace(
    session: AsyncSession,
    vault: Keyring,
    *,
    user_id: int,
    connection_id: int,
    data: KeyInput,
    endpoints: Endpoints,
    now: dt.datetime,
) -> ExchangeConnection:
    """Rotate the key: the new key must be Connected; then the old ciphertext is erased."""
    row = await get_connection(session, user_id, connection_id)
    if data.exchange != row.exchange:
        raise ServiceError(
            422, f"exchange: this connection is for {row.exchange}; connect {data.exchange} separately"
        )
    check, secret_id = await _check_and_seal(session, vault, user_id, data, endpoints, now)
    if secret_id is None:
        raise KeyRefusedError(check)
    old_secret = row.secret_id
    row.secret_id = secret_id
    row.key_hint = data.api_key[-4:]
    _apply(row, check, now)
    if old_secret is not None:
        await erase_secret(session, old_secret)
    await session.commit()
    return row


async def delete(session: AsyncSession, *, user_id: int, connection_id: int) -> None:
    """Delete the connection and erase its ciphertext."""
    row = await get_connection(session, user_id, connection_id)
    if row.secret_id is not None:
        await erase_secret(session, row.secret_id)
    await session.delete(row)
    await session.commit()


# -- what the engine reads --------------------------------------------------------------------------------


async def key_facts(session: AsyncSession, user_id: int, exchange: str) -> tuple[str, dt.datetime | None]:
    """(status, verified_at) of the user's key on `exchange` for gate check 16 (`KeyFacts`);
    ("not_connected", None) when there is none."""
    result = await session.execute(
        select(ExchangeConnection.status, ExchangeConnection.verified_at).where(
            ExchangeConnection.user_id == user_id, ExchangeConnection.exchange == exchange
        )
    )
    found = result.first()
    if found is None:
        return "not_connected", None
    return str(found[0]), as_utc(found[1])  # SQLite hands stored times back naive


async def active_connections(session: AsyncSession, exchange: str) -> list[tuple[int, int]]:
    """(user_id, connection_id) of every key on `exchange` the engine should work for: Connected, or
    transiently unreachable (gate check 16 still blocks entries until it is Connected again); by user."""
    result = await session.execute(
        select(ExchangeConnection.user_id, ExchangeConnection.id)
        .where(
            ExchangeConnection.exchange == exchange,
            ExchangeConnection.status.in_((KeyStatus.CONNECTED.value, KeyStatus.UNREACHABLE.value)),
        )
        .order_by(ExchangeConnection.user_id, ExchangeConnection.id)
    )
    return [(int(user_id), int(connection_id)) for user_id, connection_id in result.all()]


# -- stored keys: credentials, clients, re-verification ---------------------------------------------------


async def _sealed_credentials(session: AsyncSession, vault: SecretVault, row: ExchangeConnection) -> Any:
    """An async callable that opens the stored key on each call (the ciphertext, not the key, is kept)."""
    if row.secret_id is None:
        raise ServiceError(409, "this connection has no stored key: replace the key")
    secret_row = await session.get(VaultSecret, row.secret_id)
    if secret_row is None or secret_row.user_id != row.user_id:
        raise ServiceError(409, "this connection's key is gone: replace the key")
    sealed = sealed_of(secret_row)
    owner, exchange, key_id, purpose = (
        secret_row.user_id,
        secret_row.exchange,
        secret_row.key_id,
        secret_row.purpose,
    )

    async def open_credentials() -> Credentials:
        plaintext = vault.open(sealed, user_id=owner, exchange=exchange, key_id=key_id, purpose=purpose)
        values = json.loads(plaintext)
        for value in values.values():
            register_secret(value)
        return Credentials(values["api_key"], values["secret"], values.get("passphrase"))

    return open_credentials


@asynccontextmanager
async def open_client(
    session: AsyncSession,
    vault: Keyring,
    connection_id: int,
    user_id: int,
    endpoints: Endpoints | None = None,
    venues: Mapping[str, CcxtVenue] | None = None,
) -> AsyncIterator[CcxtExchangeClient | SignerExchangeClient]:
    """A client for a stored connection; closed on exit. No plaintext is held by it. With the signer,
    its private calls are the signer's. With `venues` (the engine's), it shares that exchange's HTTP
    session and loaded markets."""
    endpoints = endpoints or Endpoints()
    row = await get_connection(session, user_id, connection_id)
    if isinstance(vault, SignerClient):
        public = CcxtExchangeClient(
            endpoints.capabilities(row.exchange),
            None,
            base_url=endpoints.url_for(row.exchange),
            timeout_ms=endpoints.timeout_ms,
            venue=(venues or {}).get(row.exchange),
        )
        proxy = SignerExchangeClient(vault, public, user_id=user_id, connection_id=connection_id)
        try:
            yield proxy
        finally:
            await proxy.close()
        return
    source = await _sealed_credentials(session, vault, row)
    client = CcxtExchangeClient(
        endpoints.capabilities(row.exchange),
        source,
        base_url=endpoints.url_for(row.exchange),
        timeout_ms=endpoints.timeout_ms,
        venue=(venues or {}).get(row.exchange),
    )
    try:
        yield client
    finally:
        await client.close()


_ALERT_FOR = {
    KeyStatus.INVALID_CREDENTIALS: "key_invalid",
    KeyStatus.KEY_OR_IP_REJECTED: "key_invalid",
    KeyStatus.PERMISSIONS_ERROR: "key_permissions_changed",
    KeyStatus.UNREACHABLE: "exchange_unreachable",
}


async def verify(
    session: AsyncSession,
    vault: Keyring,
    *,
    user_id: int,
    connection_id: int,
    endpoints: Endpoints,
    now: dt.datetime,
) -> ExchangeConnection:
    """Re-check a stored key now (user's "Verify", the hourly sweep, and before trading resumes)."""
    row = await get_connection(session, user_id, connection_id)
    if isinstance(vault, SignerClient):
        check = await vault.check_stored(user_id=user_id, connection_id=connection_id)
    else:
        check = await check_stored(session, vault, row, endpoints, now)
    previous = row.status
    _apply(row, check, now)
    if check.status.value != previous and check.status in _ALERT_FOR:
        hour = now.strftime("%Y%m%d%H")
        await emit_alert(
            session,
            user_id=user_id,
            kind=_ALERT_FOR[check.status],
            data={
                "exchange": _caps(row.exchange).name,
                "detail": check.detail[:300],
                "reason": check.status.value,
            },
            dedupe_key=f"key:{row.id}:{check.status.value}:{hour}",
        )
        log.warning(
            "exchange connection %s of user %s: %s -> %s", row.id, user_id, previous, check.status.value
        )
    await session.commit()
    return row


async def check_stored(
    session: AsyncSession, vault: SecretVault, row: ExchangeConnection, endpoints: Endpoints, now: dt.datetime
) -> KeyCheck:
    """The key check of a stored key, opened here (the signer's side, or the embedded mode)."""
    source = await _sealed_credentials(session, vault, row)
    credentials = await source()
    try:
        return await check_key(
            endpoints.capabilities(row.exchange),
            credentials,
            now=now,
            base_url=endpoints.url_for(row.exchange),
            timeout_ms=endpoints.timeout_ms,
        )
    finally:
        del credentials


async def reverify_due(
    sessions: async_sessionmaker[AsyncSession],
    vault: Keyring,
    clock: Clock,
    *,
    endpoints: Endpoints | None = None,
    due_after: dt.timedelta = REVERIFY_AFTER,
    limit: int = 500,
) -> int:
    """Re-check every Connected (or transiently unreachable) key not checked within `due_after`.
    Returns how many were checked. One failing key never stops the sweep."""
    endpoints = endpoints or Endpoints()
    now = clock.now()
    async with sessions() as session:
        result = await session.execute(
            select(ExchangeConnection.id, ExchangeConnection.user_id)
            .where(
                ExchangeConnection.status.in_((KeyStatus.CONNECTED.value, KeyStatus.UNREACHABLE.value)),
                or_(
                    ExchangeConnection.checked_at.is_(None), ExchangeConnection.checked_at <= now - due_after
                ),
            )
            .order_by(ExchangeConnection.checked_at)
            .limit(limit)
        )
        due = list(result.all())
    checked = 0
    for connection_id, user_id in due:
        try:
            async with sessions() as session:
                await verify(
                    session, vault, user_id=user_id, connection_id=connection_id, endpoints=endpoints, now=now
                )
            checked += 1
        except Exception as e:  # one broken record must not stop the others
            log.error("re-verification of exchange connection %s failed: %s", connection_id, type(e).__name__)
    return checked


class ConnectionVerifier:
    """The engine's `KeyVerifier`: `await verifier.reverify_due(at)` runs the hourly sweep."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        vault: Keyring,
        clock: Clock,
        endpoints: Endpoints | None = None,
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self.clock = clock
        self.endpoints = endpoints or Endpoints()

    async def reverify_due(self, at: dt.datetime) -> int:
        return await reverify_due(self.sessions, self.vault, _FixedClock(at), endpoints=self.endpoints)


@dataclass(frozen=True)
class _FixedClock:
    moment: dt.datetime

    def now(self) -> dt.datetime:
        return self.moment


# -- the built-in sandbox ---------------------------------------------------------------------------------


class SandboxKeys:
    """Mints and revokes the one-click paper keys: in-process on the platform's mounted sandbox (the
    one-click path is the user's authenticated API call, not the sandbox's admin surface), or over
    the admin API, with its token, of a sandbox elsewhere (tests, self-hosters)."""

    def __init__(
        self,
        venue: SandboxVenue | None = None,
        *,
        url: str | None = None,
        admin_token: str | None = None,
        protocol: str = "bybit",
    ) -> None:
        self.venue, self.url, self.admin_token = venue, url, admin_token
        # The protocol the sandbox speaks: the in-process venue's own, else the one it was set to.
        self.protocol = venue.protocol if venue is not None else protocol

    async def mint(self, *, paper_usdt: str = SANDBOX_PAPER_USDT) -> KeyInput:
        """A fresh trade-only key with paper USDT (and, where the protocol has one (OKX), a random
        passphrase). The caller checks first that the user has no sandbox connection, and revokes the
        key if connecting fails."""
        caps = capabilities_for(SANDBOX, self.protocol)
        passphrase = secrets.token_urlsafe(18) if caps.needs_passphrase else None
        if passphrase is not None:
            register_secret(passphrase)
        if self.venue is not None:
            self.venue.sync()
            key = self.venue.create_key(
                permissions={"Spot": ["SpotTrade"]},
                read_only=0,
                ips=["*"],
                balances={"USDT": Decimal(paper_usdt)},
                note="one-click QARI sandbox key",
                passphrase=passphrase or "",
            )
            register_secret(key.api_secret)
            return KeyInput(SANDBOX, key.api_key, key.api_secret, passphrase)
        body = {
            "permissions": {"Spot": ["SpotTrade"]},
            "balances": {"USDT": paper_usdt},
            "passphrase": passphrase or "",
        }
        made = (await self._admin("POST", "/admin/keys", body)).json()
        register_secret(made["api_secret"])
        return KeyInput(SANDBOX, str(made["api_key"]), str(made["api_secret"]), passphrase)

    async def revoke(self, api_key: str) -> None:
        """Best effort: a sandbox that cannot be reached now is logged, never fails the caller."""
        if self.venue is not None:
            self.venue.revoke_key(api_key)
            return
        try:
            await self._admin("DELETE", f"/admin/keys/{api_key}", None, missing_ok=True)
        except ServiceError as e:
            log.warning("a sandbox key could not be revoked: %s", e.message)

    async def _admin(
        self, method: str, path: str, body: dict[str, Any] | None, *, missing_ok: bool = False
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        try:
            async with httpx.AsyncClient(timeout=10.0) as http:
                url = (self.url or "").rstrip("/") + path
                response = await http.request(method, url, json=body, headers=headers)
        except httpx.HTTPError:
            raise ServiceError(503, "the sandbox is not reachable") from None
        if response.status_code != 200 and not (missing_ok and response.status_code == 404):
            raise ServiceError(503, f"the sandbox refused its admin call (HTTP {response.status_code})")
        return response


async def ensure_unconnected(session: AsyncSession, user_id: int, exchange: str) -> None:
    """409 when the user already has a connection on `exchange` (checked before minting a key)."""
    found = await session.scalar(
        select(ExchangeConnection.id).where(
            ExchangeConnection.user_id == user_id, ExchangeConnection.exchange == exchange
        )
    )
    if found is not None:
        raise ServiceError(
            409,
            f"{_caps(exchange).name} is already connected (connection {found}): replace its key with "
            f"PUT /api/v1/exchange/connections/{found}, or delete it first",
        )


async def venue_key_id(session: AsyncSession, vault: Keyring, row: ExchangeConnection) -> str | None:
    """The stored API key id of a connection (to revoke it on the sandbox), None without a key."""
    if row.secret_id is None:
        return None
    if isinstance(vault, SignerClient):
        return await vault.api_key(user_id=row.user_id, connection_id=row.id)
    try:
        source = await _sealed_credentials(session, vault, row)
    except ServiceError:
        return None
    return (await source()).api_key
