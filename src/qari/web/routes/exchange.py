"""API routes: exchange connections (PRODUCT.md §3.2).

- `GET /api/v1/exchange/exchanges`: the supported venues and which need a passphrase.
- `POST /api/v1/exchange/connections` `{exchange, api_key, api_secret, passphrase?}`: verify the key;
  201 + the connection when Connected; otherwise 422 `{status: "invalid_credentials" |
  "permissions_error", detail}` (503 `{status: "unreachable"}` when the exchange could not be asked)
  and nothing is stored.
- `POST /api/v1/exchange/connections/sandbox`: one click: a paper key with paper USDT on the built-in
  sandbox (Bybit protocol), connected like any other key.
- `GET /api/v1/exchange/connections[/{id}]`, `POST .../{id}/verify`, `PUT .../{id}` (replace the key),
  `DELETE .../{id}` (erases the ciphertext). Responses never contain a secret: only the last 4
  characters of the key id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.exchanges.capabilities import VENUES
from qari.adapters.exchanges.keys import KeyStatus
from qari.adapters.persistence.tables.accounts import User
from qari.adapters.persistence.tables.exchange import ExchangeConnection
from qari.adapters.simulator.app import sandbox_base_url
from qari.adapters.vault import SecretVault
from qari.config import Settings
from qari.core.time import Clock
from qari.services import exchange_keys
from qari.services.errors import ServiceError
from qari.web.deps import ClockDep, CurrentUser, RowId, SessionDep, VaultDep
from qari.web.errors import ErrorBody

router = APIRouter(prefix="/exchange", tags=["exchange"])


class ConnectionCreate(BaseModel):
    exchange: str = Field("", description="bybit, binance, okx, kucoin, gate, bitget, mexc, htx or sandbox")
    api_key: str = ""
    api_secret: str = ""
    passphrase: str | None = Field(None, description="OKX, KuCoin and Bitget keys only")


class ConnectionPublic(BaseModel):
    id: int
    exchange: str
    exchange_name: str
    status: str = Field(description="connected | invalid_credentials | permissions_error | unreachable")
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
    id: str
    name: str
    needs_passphrase: bool


def endpoints_for(request: Request) -> exchange_keys.Endpoints:
    """`app.state.exchange_endpoints` when set (tests, self-hosters); else the sandbox under base_url."""
    configured = getattr(request.app.state, "exchange_endpoints", None)
    if isinstance(configured, exchange_keys.Endpoints):
        return configured
    settings: Settings = request.app.state.settings
    return exchange_keys.Endpoints({"sandbox": sandbox_base_url(settings)})


def public(row: ExchangeConnection) -> ConnectionPublic:
    caps = VENUES[row.exchange]
    warning = None
    if row.ip_restricted is False:
        warning = (
            "This key is not IP-restricted: anyone holding it can use it from anywhere. "
            "Restrict it to this server's IP (GET /api/v1/system/egress-ip) on the exchange."
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
    vault: SecretVault,
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
async def list_exchanges(user: CurrentUser) -> list[VenuePublic]:
    return [VenuePublic(id=v.id, name=v.name, needs_passphrase=v.needs_passphrase) for v in VENUES.values()]


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
    data = exchange_keys.validate_input(body.exchange, body.api_key, body.api_secret, body.passphrase)
    return await _connect(session, vault, user, data, endpoints_for(request), clock)


@router.post("/connections/sandbox", status_code=201, response_model=ConnectionPublic)
async def connect_sandbox(
    request: Request, user: CurrentUser, session: SessionDep, vault: VaultDep, clock: ClockDep
) -> ConnectionPublic | JSONResponse:
    endpoints = endpoints_for(request)
    url = endpoints.url_for("sandbox")
    if url is None:
        raise ServiceError(503, "the built-in sandbox has no URL configured")
    data = await exchange_keys.create_sandbox_key(url)
    return await _connect(session, vault, user, data, endpoints, clock)


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
    data = exchange_keys.validate_input(
        body.exchange or row.exchange, body.api_key, body.api_secret, body.passphrase
    )
    try:
        row = await exchange_keys.replace(
            session,
            vault,
            user_id=user.id,
            connection_id=connection_id,
            data=data,
            endpoints=endpoints_for(request),
            now=clock.now(),
        )
    except exchange_keys.KeyRefusedError as e:
        return refused(e)
    return public(row)


@router.delete("/connections/{connection_id}", status_code=204)
async def delete_connection(connection_id: RowId, user: CurrentUser, session: SessionDep) -> Response:
    await exchange_keys.delete(session, user_id=user.id, connection_id=connection_id)
    return Response(status_code=204)
