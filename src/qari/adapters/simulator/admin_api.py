"""The sandbox's own admin API (not Bybit's): keys, balances, orders, the clock and faults.

It answers only `Authorization: Bearer <admin token>` (the token `qari sandbox` prints, or
QARI_SANDBOX_ADMIN_TOKEN) or, mounted in the platform, the platform operator's session. The client
address proves nothing: behind a proxy trusted with `FORWARDED_ALLOW_IPS='*'` anyone can claim to be
127.0.0.1. Routes, relative to the sandbox base URL:

| route | body / query | answer |
|---|---|---|
| `POST /admin/keys` | `KeyRequest` (below) | `{"api_key", "api_secret", "account_id"}` |
| `GET /admin/keys` | | keys without secrets |
| `DELETE /admin/keys/{api_key}` | | later calls with it get 10003 |
| `PUT /admin/balances/{api_key}` | `{"balances": {"USDT": "500"}}` (totals) | balances |
| `GET /admin/balances/{api_key}` | | `{coin: {"free", "locked", "total"}}` |
| `GET /admin/orders/{api_key}` | `?symbol=BTCUSDT&open_only=true` | orders in Bybit's shape |
| `GET /admin/clock` | | `{"now_ms", "mode", "real_now_ms", "speed"}` |
| `POST /admin/clock` | `{"set_ms": …}` / `{"advance_ms": …}` (stepped), `{"speed": 120}` (replay) | clock |
| `POST /admin/faults` | `{"kind": "timeout", "count": 1}` / `{"kind": …, "probability": 0.2}` | rule |
| `GET /admin/faults`, `DELETE /admin/faults`, `DELETE /admin/faults/{id}` | | rules |
| `GET /admin/market` | | `{symbol: last price}` at the market clock |

`KeyRequest`: `{"permissions": {"Spot": ["SpotTrade"], "Wallet": ["Withdraw"]}, "read_only": 0,
"ips": ["*"], "balances": {"USDT": "10000"}, "account_id": null}` (permissions in the query-api shape;
`account_id` lets a second key share an account). A replay clock's new `speed` applies from the
current instant on (the market time never jumps).

Fault kinds: `timeout` (answer held back `delay_ms`; `after: true` carries the request out first),
`http_5xx` (`status`, default 502), `rate_limit` (retCode 10006), `maintenance` (HTTP 503),
`reject_order` (order create answers 170210). `paths` limits a rule to path prefixes like `/v5/order`.
"""

from __future__ import annotations

import hmac
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from qari.adapters.simulator.bybit_api import render_order
from qari.adapters.simulator.clock import ReplayClock
from qari.adapters.simulator.faults import FaultKind
from qari.adapters.simulator.matching import VenueError
from qari.adapters.simulator.venue import SandboxVenue
from qari.adapters.simulator.wire import fmt


class KeyRequest(BaseModel):
    permissions: dict[str, list[str]] = Field(default_factory=lambda: {"Spot": ["SpotTrade"]})
    read_only: int = Field(0, ge=0, le=1)
    ips: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    balances: dict[str, Decimal] = Field(default_factory=dict)
    account_id: str | None = Field(None, description="share an account with another key")
    note: str = ""
    passphrase: str = Field("", max_length=32, description="the key's passphrase (OKX signs with one)")


class BalancesRequest(BaseModel):
    balances: dict[str, Decimal]


class ClockRequest(BaseModel):
    set_ms: int | None = Field(None, ge=0)
    advance_ms: int | None = Field(None, ge=0)
    speed: float | None = Field(None, gt=0, le=100_000, description="replay clock: new speed from now on")


class FaultRequest(BaseModel):
    kind: FaultKind
    probability: float | None = Field(None, ge=0, le=1)
    count: int | None = Field(None, ge=1, description="fire this many times (default 1 without probability)")
    paths: list[str] = Field(default_factory=list)
    delay_ms: int = Field(15_000, ge=0, le=600_000)
    after: bool = False
    status: int = Field(502, ge=500, le=599)
    orders_only: bool = Field(False, description="fire on order creation only (any protocol)")


async def authorized_venue(request: Request) -> SandboxVenue:
    """The venue, for a request bearing the admin token or passing the mounting platform's check."""
    state = request.app.state
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    token: str = state.admin_token
    if not (scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())):
        if state.authorize is None:
            raise HTTPException(
                401,
                "the sandbox admin API needs 'Authorization: Bearer <admin token>' (printed by qari "
                "sandbox, or QARI_SANDBOX_ADMIN_TOKEN)",
                {"WWW-Authenticate": "Bearer"},
            )
        await state.authorize(request)  # raises 401/403 unless it is the platform operator
    venue: SandboxVenue = state.get_venue()
    return venue


Venue = Annotated[SandboxVenue, Depends(authorized_venue)]
router = APIRouter(prefix="/admin", tags=["sandbox-admin"])


def key_of(venue: SandboxVenue, api_key: str) -> str:
    key = venue.keys.get(api_key)
    if key is None:
        raise HTTPException(404, f"no API key {api_key}")
    return key.account_id


def balances_of(venue: SandboxVenue, account_id: str) -> dict[str, dict[str, str]]:
    return {
        coin: {"free": fmt(free), "locked": fmt(locked), "total": fmt(free + locked)}
        for coin, (free, locked) in venue.exchange.balances(account_id).items()
    }


@router.post("/keys")
def create_key(body: KeyRequest, venue: Venue) -> dict[str, str]:
    if any(amount < 0 for amount in body.balances.values()):
        raise HTTPException(422, "balances cannot be negative")
    venue.sync()
    key = venue.create_key(
        permissions=body.permissions,
        read_only=body.read_only,
        ips=body.ips,
        balances=body.balances,
        account_id=body.account_id,
        note=body.note,
        passphrase=body.passphrase,
    )
    return {"api_key": key.api_key, "api_secret": key.api_secret, "account_id": key.account_id}


@router.get("/keys")
def list_keys(venue: Venue) -> list[dict[str, object]]:
    return [
        {"api_key": k.api_key, "account_id": k.account_id, **venue.key_info(k)} for k in venue.keys.values()
    ]


@router.delete("/keys/{api_key}")
def revoke_key(api_key: str, venue: Venue) -> dict[str, bool]:
    if not venue.revoke_key(api_key):
        raise HTTPException(404, f"no API key {api_key}")
    return {"revoked": True}


@router.put("/balances/{api_key}")
def set_balances(api_key: str, body: BalancesRequest, venue: Venue) -> dict[str, dict[str, str]]:
    account_id = key_of(venue, api_key)
    venue.sync()
    try:
        for coin, total in body.balances.items():
            if total < 0:
                raise ValueError(f"{coin}: balances cannot be negative")
            venue.exchange.set_balance(account_id, coin.upper(), total)
    except ValueError as e:
        raise HTTPException(409, str(e)) from None
    return balances_of(venue, account_id)


@router.get("/balances/{api_key}")
def get_balances(api_key: str, venue: Venue) -> dict[str, dict[str, str]]:
    account_id = key_of(venue, api_key)
    venue.sync()
    return balances_of(venue, account_id)


@router.get("/orders/{api_key}")
def list_orders(
    api_key: str, venue: Venue, symbol: str | None = None, open_only: bool = False
) -> list[dict[str, object]]:
    account_id = key_of(venue, api_key)
    venue.sync()
    try:
        unified = venue.exchange.symbol_for(symbol.upper()) if symbol else None
    except VenueError:
        raise HTTPException(404, f"no symbol {symbol} on this venue") from None
    orders = venue.exchange.orders(account_id, unified, active=True if open_only else None)
    return [render_order(venue, o) for o in orders]


def clock_state(venue: SandboxVenue) -> dict[str, object]:
    clock = venue.clock
    speed = clock.speed if isinstance(clock, ReplayClock) else None
    return {"now_ms": clock.now_ms(), "mode": clock.mode, "real_now_ms": venue.auth_now_ms(), "speed": speed}


@router.get("/clock")
def get_clock(venue: Venue) -> dict[str, object]:
    return clock_state(venue)


@router.post("/clock")
def move_clock(body: ClockRequest, venue: Venue) -> dict[str, object]:
    if sum(value is not None for value in (body.set_ms, body.advance_ms, body.speed)) != 1:
        raise HTTPException(422, "send exactly one of set_ms, advance_ms or speed")
    try:
        if body.speed is not None:
            if not isinstance(venue.clock, ReplayClock):
                raise ValueError(
                    f"the market clock is in {venue.clock.mode} mode; only a replay clock has a speed"
                )
            venue.sync()  # fills up to now happen at the old pace
            venue.clock.set_speed(body.speed)
        else:
            clock = venue.stepped()
            if body.set_ms is not None:
                clock.set(body.set_ms)
            else:
                clock.advance(body.advance_ms or 0)
    except ValueError as e:
        raise HTTPException(409, str(e)) from None
    venue.sync()
    return clock_state(venue)


@router.post("/faults")
def add_fault(body: FaultRequest, venue: Venue) -> dict[str, object]:
    remaining = body.count if body.count is not None else (None if body.probability is not None else 1)
    rule = venue.faults.add(
        body.kind,
        probability=body.probability,
        remaining=remaining,
        paths=tuple(body.paths),
        delay_ms=body.delay_ms,
        after=body.after,
        status=body.status,
        orders_only=body.orders_only,
    )
    return rule.as_dict()


@router.get("/faults")
def list_faults(venue: Venue) -> list[dict[str, object]]:
    return [r.as_dict() for r in venue.faults.rules()]


@router.delete("/faults")
def clear_faults(venue: Venue) -> dict[str, bool]:
    venue.faults.clear()
    return {"cleared": True}


@router.delete("/faults/{rule_id}")
def remove_fault(rule_id: int, venue: Venue) -> dict[str, bool]:
    if not venue.faults.remove(rule_id):
        raise HTTPException(404, f"no fault rule {rule_id}")
    return {"removed": True}


@router.get("/market")
def market(venue: Venue) -> dict[str, str]:
    venue.sync()
    return {inst.venue_id: fmt(venue.exchange.price(s)) for s, inst in venue.exchange.instruments().items()}
