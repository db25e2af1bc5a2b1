"""Tables for accounts, plans, sessions, the secret vault, per-user settings and platform state.

Schema (revision 0001):
- `plans`: plan tiers as data (tier, name, capacity = max concurrent positions, monthly price, features).
- `users`: one account; `plan_tier` + `trial_ends_at` + `waiver` decide the subscription;
  the first account of an install has `is_operator`.
- `sessions`: login sessions; only the SHA-256 of the token is stored; `csrf_token` is the
  double-submit value a cookie-authenticated unsafe request must echo in `X-CSRF-Token`.
- `login_attempts`: one row per login attempt, for rate limiting and lockout.
- `vault_keys`: master-key versions (fingerprint only, never the key).
- `vault_secrets`: AES-256-GCM envelope-encrypted secrets (no plaintext column anywhere).
- `user_settings`: the user's trading preferences (one row per user).
- `platform_state`: a single row (id = 1): operator switches, the platform blacklist and which
  account claimed the operator role (0006).
- `audit_log`: who did what, when.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from qari.adapters.persistence.base import MONEY, Base


class Plan(Base):
    __tablename__ = "plans"

    tier: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    capacity: Mapped[int] = mapped_column(Integer)
    price_usd_month: Mapped[Decimal] = mapped_column(MONEY)
    features: Mapped[list[str]] = mapped_column(JSON, default=list)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    plan_tier: Mapped[str] = mapped_column(String(20), ForeignKey("plans.tier"), default="trial")
    trial_ends_at: Mapped[dt.datetime] = mapped_column()
    # A paid plan is active until this moment (None: until changed by the operator / payments).
    plan_active_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    waiver: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The TOTP seed is a vault secret (purpose "totp"); this points at it while set up or enabled.
    totp_secret_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Last accepted TOTP time step: a code is accepted once (no replay within its validity window).
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class LoginSession(Base):
    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column()
    expires_at: Mapped[dt.datetime] = mapped_column()


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column()
    success: Mapped[bool] = mapped_column(Boolean)


class VaultKey(Base):
    __tablename__ = "vault_keys"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class VaultSecret(Base):
    __tablename__ = "vault_secrets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    exchange: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(255))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    wrap_nonce: Mapped[bytes] = mapped_column(LargeBinary)
    key_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class UserSettings(Base):
    __tablename__ = "user_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    auto_trading: Mapped[bool] = mapped_column(Boolean, default=True)
    allocation_mode: Mapped[str] = mapped_column(String(10), default="percent")  # 'fixed' | 'percent'
    allocation_value: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("10"))
    max_positions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stop_loss_pct: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("15"))  # band 10-30
    personal_blacklist: Mapped[list[str]] = mapped_column(JSON, default=list)
    daily_loss_limit_r: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("2"))
    weekly_loss_limit_r: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("5"))
    learning_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    spread_limit_bps: Mapped[int] = mapped_column(Integer, default=30)
    cooldown_hours: Mapped[int] = mapped_column(Integer, default=24)
    guard_order_cap_usdt: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    guard_day_cap_usdt: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)


class PlatformState(Base):
    __tablename__ = "platform_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, default=1)
    engine_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    kill_switch: Mapped[bool] = mapped_column(Boolean, default=False)
    blacklist: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    # The install's first account, claimed by a conditional UPDATE so two concurrent first
    # registrations cannot both become operator (revision 0006).
    operator_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
