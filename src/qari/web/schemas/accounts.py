"""Wire schemas for accounts, plans and operator endpoints. No model here has a secret field
except the login token and the one-time TOTP enrolment seed, which go only to their owner."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, computed_field

from qari.adapters.persistence.tables.accounts import User
from qari.services.plans import PlanStatus
from qari.web.qr import qr_svg_data_uri
from qari.web.session_cache import CachedAccount


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class PasswordRules(BaseModel):
    rules: list[str] = Field(description="every rule a new password must meet, in words")


class RegistrationAccepted(BaseModel):
    detail: str = Field(description="the same for a new and an already registered e-mail")


class LoginRequest(Credentials):
    totp_code: str | None = Field(default=None, max_length=16)


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme name
    csrf_token: str
    expires_at: dt.datetime


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class TotpCode(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    code: str = Field(min_length=6, max_length=16)


class TotpDisable(TotpCode):
    password: str = Field(min_length=1, max_length=1024)


class TotpEnrolment(BaseModel):
    secret: str
    otpauth_uri: str

    @computed_field(description="the otpauth URI as a QR code: an SVG `data:` URI drawn here (segno)")
    def qr_svg(self) -> str:
        return qr_svg_data_uri(self.otpauth_uri)


class PlanPublic(BaseModel):
    tier: str
    name: str
    capacity: int
    price_usd_month: Decimal
    features: list[str]
    trial_ends_at: dt.datetime
    active_until: dt.datetime | None
    waiver: bool
    active: bool
    reason: str

    @classmethod
    def of(cls, status: PlanStatus) -> PlanPublic:
        return cls(
            tier=status.tier,
            name=status.name,
            capacity=status.capacity,
            price_usd_month=status.price_usd_month,
            features=list(status.features),
            trial_ends_at=status.trial_ends_at,
            active_until=status.active_until,
            waiver=status.waiver,
            active=status.active,
            reason=status.reason,
        )


class UserPublic(BaseModel):
    id: int
    email: str
    is_operator: bool
    created_at: dt.datetime
    totp_enabled: bool
    plan: PlanPublic

    @classmethod
    def of(cls, user: User | CachedAccount, plan: PlanStatus) -> UserPublic:
        return cls(
            id=user.id,
            email=user.email,
            is_operator=user.is_operator,
            created_at=user.created_at,
            totp_enabled=user.totp_enabled,
            plan=PlanPublic.of(plan),
        )


CONNECTION_STATUSES = "connected | invalid_credentials | key_or_ip_rejected | permissions_error | unreachable"
# The most urgent first: the state an operator should see for a user with several keys.
_URGENCY = ("invalid_credentials", "key_or_ip_rejected", "permissions_error", "unreachable", "connected")


class UserConnectionPublic(BaseModel):
    exchange: str
    exchange_name: str
    status: str = Field(description=CONNECTION_STATUSES)
    verified_at: dt.datetime | None = Field(description="when the key's permissions last passed the check")


class AdminUserPublic(UserPublic):
    """A user as the operator's list shows it: plan and exchange-connection status (no key material)."""

    connection_status: str = Field(
        description="none (no key stored) | " + CONNECTION_STATUSES + ": the most urgent of the user's "
        "connections (connected only when every stored key is)"
    )
    connections: list[UserConnectionPublic]

    @classmethod
    def with_connections(
        cls, user: User, plan: PlanStatus, connections: list[UserConnectionPublic]
    ) -> AdminUserPublic:
        return cls(
            **UserPublic.of(user, plan).model_dump(),
            connection_status=connection_headline([c.status for c in connections]),
            connections=connections,
        )


def connection_headline(statuses: list[str]) -> str:
    if not statuses:
        return "none"
    known = [s for s in _URGENCY if s in statuses]
    unknown = [s for s in statuses if s not in _URGENCY]
    return (unknown or known)[0]


class PlanChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: str
    active_until: dt.datetime | None = None


class PlatformPublic(BaseModel):
    engine_enabled: bool
    kill_switch: bool
    blacklist: list[str]
    updated_at: dt.datetime | None


class PlatformChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engine_enabled: bool | None = None
    kill_switch: bool | None = None


class Blacklist(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbols: list[
        Annotated[str, Field(max_length=41, pattern=r"^\s*([A-Za-z0-9]{1,20}(/[A-Za-z0-9]{1,20})?)?\s*$")]
    ] = Field(max_length=2000, description='symbols like "LUNA/USDT" or base assets like "LUNA"')


class AuditPublic(BaseModel):
    id: int
    at: dt.datetime
    actor_user_id: int | None
    actor_email: str | None = Field(None, description="who did it; null for the system")
    action: str
    detail: dict[str, object]
    summary: str = Field("", description="what happened, in one plain sentence")
