"""API routes: the user's own settings.

- `GET /api/v1/settings/risk`, `PUT /api/v1/settings/risk`: risk parameters (per-trade allocation,
  max positions ≤ plan capacity, stop-loss % in the 10–30 % band, personal blacklist, auto-trading,
  kill-switch limits no looser than −2R a day / −5R a week, spread limit, cooldown). `PUT` takes any
  subset of the fields; a bad value gets 422 with one message per field in `errors`.
- `GET /api/v1/settings/data-sharing`, `PUT /api/v1/settings/data-sharing`: consent to contribute
  anonymised trade outcomes to collective learning (opt-in, off by default).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.persistence.tables.accounts import User, UserSettings
from qari.services import accounts, plans, risk_settings
from qari.web.deps import ClockDep, CurrentUser, SessionDep
from qari.web.errors import ErrorBody

router = APIRouter(prefix="/settings", tags=["settings"])
EXAMPLES: dict[str, Any] = {"stricter limits": {"value": {"daily_loss_limit_r": 1, "weekly_loss_limit_r": 3}}}


class RiskSettingsPublic(BaseModel):
    auto_trading: bool = Field(description="Open new trades automatically (gate check 01)")
    allocation_mode: str = Field(description="'fixed' USDT per trade or 'percent' of free USDT")
    allocation_value: Decimal
    max_positions: int = Field(description="Maximum concurrent positions (at most the plan's capacity)")
    stop_loss_pct: Decimal = Field(description="Stop-loss distance from the entry, 10–30 %")
    personal_blacklist: list[str] = Field(description="Symbols never traded for this user, e.g. DOGE/USDT")
    daily_loss_limit_r: Decimal = Field(description="Daily kill-switch limit in R (at most 2)")
    weekly_loss_limit_r: Decimal = Field(description="Weekly kill-switch limit in R (at most 5)")
    spread_limit_bps: int
    cooldown_hours: int
    guard_order_cap_usdt: Decimal | None = Field(
        description="Your own cap on one buy order in USDT (null: the plan's); only a lower one applies"
    )
    guard_day_cap_usdt: Decimal | None = Field(
        description="Your own cap on a UTC day's buy orders in USDT (null: the plan's); only lower applies"
    )
    plan_capacity: int
    limits: dict[str, Any]


class RiskSettingsUpdate(BaseModel):
    """Any subset of the risk parameters; numbers may be sent as JSON numbers or strings."""

    model_config = ConfigDict(extra="allow")

    auto_trading: bool | None = None
    allocation_mode: str | None = None
    allocation_value: Decimal | str | None = None
    max_positions: int | str | None = None
    stop_loss_pct: Decimal | str | None = None
    personal_blacklist: list[str] | None = None
    daily_loss_limit_r: Decimal | str | None = None
    weekly_loss_limit_r: Decimal | str | None = None
    spread_limit_bps: int | str | None = None
    cooldown_hours: int | str | None = None
    guard_order_cap_usdt: Decimal | str | None = None
    guard_day_cap_usdt: Decimal | str | None = None


class DataSharing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learning_consent: bool = Field(description="Share anonymised trade outcomes (R and layer results only)")


async def _row(session: AsyncSession, user: User) -> UserSettings:
    row = await session.get(UserSettings, user.id)
    if row is None:
        row = UserSettings(user_id=user.id)
        session.add(row)
        await session.flush()
    return row


def _public(values: risk_settings.RiskSettings, capacity: int) -> RiskSettingsPublic:
    return RiskSettingsPublic(
        auto_trading=values.auto_trading,
        allocation_mode=values.allocation_mode,
        allocation_value=values.allocation_value,
        max_positions=min(values.max_positions or capacity, capacity),
        stop_loss_pct=values.stop_loss_pct,
        personal_blacklist=list(values.personal_blacklist),
        daily_loss_limit_r=values.daily_loss_limit_r,
        weekly_loss_limit_r=values.weekly_loss_limit_r,
        spread_limit_bps=values.spread_limit_bps,
        cooldown_hours=values.cooldown_hours,
        guard_order_cap_usdt=values.guard_order_cap_usdt,
        guard_day_cap_usdt=values.guard_day_cap_usdt,
        plan_capacity=capacity,
        limits=risk_settings.limits(capacity),
    )


@router.get("/risk", response_model=RiskSettingsPublic)
async def get_risk(user: CurrentUser, session: SessionDep, clock: ClockDep) -> RiskSettingsPublic:
    """The caller's risk parameters, their plan capacity and the allowed range of each value."""
    capacity = (await plans.user_plan_status(session, user, clock.now())).capacity
    values = risk_settings.from_row(await _row(session, user))
    await session.commit()
    return _public(values, capacity)


@router.put(
    "/risk",
    response_model=RiskSettingsPublic,
    responses={
        422: {
            "model": ErrorBody,
            "description": "`errors`: one `{field, message}` per rejected value; nothing saved",
        }
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": RiskSettingsUpdate.model_json_schema()}},
        }
    },
)
async def put_risk(
    body: Annotated[
        dict[str, Any], Body(openapi_examples={"stricter": {"value": {"daily_loss_limit_r": 1}}})
    ],
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> RiskSettingsPublic | JSONResponse:
    """Change any subset of the risk parameters. All values are checked before anything is saved."""
    now = clock.now()
    capacity = (await plans.user_plan_status(session, user, now)).capacity
    row = await _row(session, user)
    try:
        values = risk_settings.apply_update(risk_settings.from_row(row), body, capacity=capacity)
    except risk_settings.RiskSettingsError as e:
        errors = [{"field": name, "message": message} for name, message in e.errors.items()]
        detail = "; ".join(f"{item['field']}: {item['message']}" for item in errors)
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)
    changed = risk_settings.to_row(values, row)
    if changed:
        await accounts.audit(session, now=now, actor=user.id, action="settings.risk", fields=changed)
    await session.commit()
    return _public(values, capacity)


@router.get("/data-sharing", response_model=DataSharing)
async def get_data_sharing(user: CurrentUser, session: SessionDep) -> DataSharing:
    row = await _row(session, user)
    await session.commit()
    return DataSharing(learning_consent=bool(row.learning_consent))


@router.put("/data-sharing", response_model=DataSharing)
async def put_data_sharing(
    body: DataSharing, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> DataSharing:
    """Give or withdraw consent to contribute anonymised trade outcomes to collective learning."""
    row = await _row(session, user)
    if row.learning_consent != body.learning_consent:
        row.learning_consent = body.learning_consent
        await accounts.audit(
            session,
            now=clock.now(),
            actor=user.id,
            action="settings.data_sharing",
            consent=body.learning_consent,
        )
    await session.commit()
    return DataSharing(learning_consent=row.learning_consent)
