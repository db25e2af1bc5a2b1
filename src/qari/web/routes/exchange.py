"""API routes: exchange connections (PRODUCT.md §3.2).

- `GET /api/v1/exchange/exchanges`: the supported venues and which need a passphrase.
- `POST /api/v1/exchange/connections` `{exchange, api_key, api_secret, passphrase?}`: verify the key;
  201 + the connection when Connected; otherwise 422 `{status: "invalid_credentials" |
  "key_or_ip_rejected" | "permissions_error", detail}` (503 `{status: "unreachable"}` when the
  exchange could not be asked) and nothing is stored.
- `POST /api/v1/exchange/connections/sandbox`: one click: a paper key with paper USDT on the built-in
  sandbox (in the protocol it speaks, QARI_SANDBOX_PROTOCOL; an OKX key gets a random passphrase),
  minted in-process only once the user is known to have no sandbox connection, and connected like any
  other key (revoked again if connecting fails).
- `GET /api/v1/exchange/connections[/{id}]`, `POST .../{id}/verify`, `PUT .../{id}` (replace the key),
  `DELETE .../{id}` (erases the ciphertext; a sandbox key is also revoked on the sandbox). Responses
  never contain a secret: only the last 4 characters of the key id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.exchanges.capabilities import VENUES, ExchangeCapabilities
from qari.adapters.exchanges.keys import KeyStatus
from qari.adapters.persistence.tables.accounts import User
from qari.adapters.persistence.tables.exchange import ExchangeConnection
from qari.adapters.simulator.app import sandbox_base_url, sandbox_problem
from qari.config import Settings
from qari.core.time import Clock
from qari.services import exchange_keys
from qari.services.errors import ServiceError
from qari.services.exchange_keys import Keyring
from qari.web.deps import ClockDep, CurrentUser, RowId, SessionDep, VaultDep
from qari.web.errors import ErrorBody

router = APIRouter(prefix="/exchange", tags=["exchange"])


class ConnectionCreate(BaseModel):
    exchange: str = Field("", description=", ".join(VENUES) + " (GET /api/v1/exchange/exchanges)")
    api_key: str = ""
    api_secret: str = ""
    passphrase: str | None = Field(
        None, description=", ".join(v.name for v in VENUES.values() if v.needs_passphrase) + " keys only"
    )


class ConnectionPublic(BaseModel):
    id: int
    exchange: str
    exchange_name: str
    status: str = Field(
        description="connected | invalid_credentials | key_or_ip_rejected | permissions_error | unreachable"
    )
    status_detail: str
    key_hint: str = Field(description="last 4 characters of the API key id")
    ip_restricted: bool | None
    ips: list[str]
    warning: str | None = Field(None, description="set when the key is not IP-restricted")
    permissions: dict[str, Any]
    key_expires_at: dt.datetime | None
    verified_at: dt.datetime | None
    checked_at: dt.datetime | None
    reachable: bool
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


class VenuePublic(BaseModel):
    """One supported venue, as the venue data (`adapters/exchanges/capabilities`) declares it."""

    id: str
    name: str
    needs_passphrase: bool
    live: bool = Field(description="a real exchange; false for the built-in sandbox")
    spot_stop: str = Field(
        description="market_trigger | stop_limit (the stop rests on the venue) | none (QARI's watchdog)"
    )
    key_settings_page: str = Field(description="where on the exchange the key's permissions are set")
    key_guide: str = Field(description="what to enable when creating the key")
    key_never: str = Field(description="what never to enable (QARI refuses such keys)")
    protocol: str = Field(description="the API it speaks (ccxt id): the sandbox's is QARI_SANDBOX_PROTOCOL")

    @classmethod
    def of(cls, caps: ExchangeCapabilities) -> VenuePublic:
        return cls(
            protocol=caps.ccxt_id,
            id=caps.id,
            name=caps.name,
            needs_passphrase=caps.needs_passphrase,
            live=caps.live,
            spot_stop=caps.spot_stop.value,
            key_settings_page=caps.key_settings_page,
            key_guide=caps.key_guide,
            key_never=caps.key_never,
        )


def endpoints_for(request: Request) -> exchange_keys.Endpoints:
    """`app.state.exchange_endpoints` when set (tests, self-hosters); else the sandbox under base_url."""
    configured = getattr(request.app.state, "exchange_endpoints", None)
    if isinstance(configured, exchange_keys.Endpoints):
        return configured
    settings: Settings = request.app.state.settings
    return exchange_keys.Endpoints(
        {"sandbox": sandbox_base_url(settings)}, sandbox_protocol=settings.sandbox_protocol
    )


def public(row: ExchangeConnection) -> ConnectionPublic:
    caps = VENUES[row.exchange]
    warning = None
    if row.ip_restricted is False:
        warning = (
            "This key is not IP-restricted: anyone holding it can use it from anywhere. "
            "Restrict it on the exchange to this server's IP address (top of Settings → Exchange)."
        )
    return ConnectionPublic(
        id=row.id,
        exchange=row.exchange,
        exchange_name=caps.name,
        status=row.status,
        status_detail=row.status_detail,
        key_hint=row.key_hint,
        ip_restricted=row.ip_restricted,
        ips=list(row.ips or []),
        warning=warning,
        permissions=dict(row.permissions or {}),
        key_expires_at=row.key_expires_at,
        verified_at=row.verified_at,
        checked_at=row.checked_at,
        reachable=row.reachable,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def refused(error: exchange_keys.KeyRefusedError) -> JSONResponse:
    check = error.check
    status_code = 503 if check.status is KeyStatus.UNREACHABLE else 422
    body = {
        "status": check.status.value,
        "detail": check.detail,
        "missing": list(check.missing),
        "forbidden": list(check.forbidden),
        "stored": False,
    }
    return JSONResponse(body, status_code=status_code)


async def _connect(
    session: AsyncSession,
    vault: Keyring,
    user: User,
    data: exchange_keys.KeyInput,
    endpoints: exchange_keys.Endpoints,
    clock: Clock,
) -> ConnectionPublic | JSONResponse:
    try:
        row = await exchange_keys.connect(
            session, vault, user_id=user.id, data=data, endpoints=endpoints, now=clock.now()
        )
    except exchange_keys.KeyRefusedError as e:
        return refused(e)
    return public(row)


@router.get("/exchanges", response_model=list[VenuePublic])
async def list_exchanges(request: Request, user: CurrentUser) -> list[VenuePublic]:
    return [VenuePublic.of(v) for v in endpoints_for(request).venues.values()]


@router.get("/connections", response_model=list[ConnectionPublic])
async def list_connections(user: CurrentUser, session: SessionDep) -> list[ConnectionPublic]:
    return [public(row) for row in await exchange_keys.list_connections(session, user.id)]


@router.post(
    "/connections",
    status_code=201,
    response_model=ConnectionPublic,
    responses={
        422: {"model": ErrorBody, "description": "invalid_credentials / permissions_error / bad input"},
        503: {"model": ErrorBody, "description": "the exchange could not be reached; nothing stored"},
    },
)
async def create_connection(
    body: ConnectionCreate,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    vault: VaultDep,
    clock: ClockDep,
) -> ConnectionPublic | JSONResponse:
    endpoints = endpoints_for(request)
    data = exchange_keys.validate_input(
        body.exchange, body.api_key, body.api_secret, body.passphrase, endpoints.venues
    )
    return await _connect(session, vault, user, data, endpoints, clock)


def sandbox_keys(request: Request, endpoints: exchange_keys.Endpoints) -> exchange_keys.SandboxKeys | None:
    """Who mints the one-click keys: the platform's own sandbox in-process when the sandbox endpoint
    is the mounted one (a 503 naming the data problem when it cannot build its market, never a 500);
    a sandbox elsewhere only with its admin token; else None (no sandbox)."""
    url = endpoints.url_for(exchange_keys.SANDBOX)
    venue_of = getattr(request.app.state, "sandbox_venue", None)
    if url is None:
        return None
    if venue_of is not None and url == sandbox_base_url(request.app.state.settings):
        problem = sandbox_problem(venue_of)
        if problem is not None:
            raise ServiceError(503, f"{problem}; fix or unset QARI_SANDBOX_DATA")
        return exchange_keys.SandboxKeys(venue_of())
    if endpoints.sandbox_admin_token:
        return exchange_keys.SandboxKeys(
            url=url, admin_token=endpoints.sandbox_admin_token, protocol=endpoints.sandbox_protocol
        )
    return None


@router.post("/connections/sandbox", status_code=201, response_model=ConnectionPublic)
async def connect_sandbox(
    request: Request, user: CurrentUser, session: SessionDep, vault: VaultDep, clock: ClockDep
) -> ConnectionPublic | JSONResponse:
    endpoints = endpoints_for(request)
    keys = sandbox_keys(request, endpoints)
    if keys is None:
        raise ServiceError(503, "the built-in sandbox is off on this server (QARI_SANDBOX_ENABLED)")
    await exchange_keys.ensure_unconnected(session, user.id, exchange_keys.SANDBOX)
    data = await keys.mint()
    connected = False
    try:
        result = await _connect(session, vault, user, data, endpoints, clock)
        connected = isinstance(result, ConnectionPublic)
        return result
    finally:
        if not connected:  # refused, raced or failed: the minted key must not outlive the attempt
            await keys.revoke(data.api_key)


@router.get("/connections/{connection_id}", response_model=ConnectionPublic)
async def get_connection(connection_id: RowId, user: CurrentUser, session: SessionDep) -> ConnectionPublic:
    return public(await exchange_keys.get_connection(session, user.id, connection_id))


@router.post("/connections/{connection_id}/verify", response_model=ConnectionPublic)
async def verify_connection(
    connection_id: RowId,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    vault: VaultDep,
    clock: ClockDep,
) -> ConnectionPublic:
    row = await exchange_keys.verify(
        session,
        vault,
        user_id=user.id,
        connection_id=connection_id,
        endpoints=endpoints_for(request),
        now=clock.now(),
    )
    return public(row)


@router.put("/connections/{connection_id}", response_model=ConnectionPublic)
async def replace_key(
    connection_id: RowId,
    body: ConnectionCreate,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    vault: VaultDep,
    clock: ClockDep,
) -> ConnectionPublic | JSONResponse:
    row = await exchange_keys.get_connection(session, user.id, connection_id)
    endpoints = endpoints_for(request)
    data = exchange_keys.validate_input(
        body.exchange or row.exchange, body.api_key, body.api_secret, body.passphrase, endpoints.venues
    )
    keys = sandbox_keys(request, endpoints) if row.exchange == exchange_keys.SANDBOX else None
    old_key = await exchange_keys.venue_key_id(session, vault, row) if keys is not None else None
    try:
        row = await exchange_keys.replace(
            session,
            vault,
            user_id=user.id,
            connection_id=connection_id,
            data=data,
            endpoints=endpoints,
            now=clock.now(),
        )
    except exchange_keys.KeyRefusedError as e:
        return refused(e)
    if keys is not None and old_key is not None and old_key != data.api_key:
        await keys.revoke(old_key)  # the replaced paper key stops working on the sandbox
    return public(row)


@router.delete("/connections/{connection_id}", status_code=204)
async def delete_connection(
    connection_id: RowId, request: Request, user: CurrentUser, session: SessionDep, vault: VaultDep
) -> Response:
    row = await exchange_keys.get_connection(session, user.id, connection_id)
    keys = sandbox_keys(request, endpoints_for(request)) if row.exchange == exchange_keys.SANDBOX else None
    api_key = await exchange_keys.venue_key_id(session, vault, row) if keys is not None else None
    await exchange_keys.delete(session, user_id=user.id, connection_id=connection_id)
    if keys is not None and api_key is not None:
        await keys.revoke(api_key)  # a deleted connection's paper key stops working on the sandbox too
    return Response(status_code=204)
