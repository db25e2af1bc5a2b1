"""Tables for exchange connections (revision 0002).

`exchange_connections`: one row per user and exchange. The API key, secret and passphrase live only
in the vault (`secret_id` → `vault_secrets`, sealed together); this row keeps what may be shown — the
last 4 characters of the key id, the verification status and what the key was found able to do.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from qari.adapters.persistence.base import Base


class ExchangeConnection(Base):
    __tablename__ = "exchange_connections"
    __table_args__ = (UniqueConstraint("user_id", "exchange", name="uq_exchange_connections_user_exchange"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    exchange: Mapped[str] = mapped_column(String(20))
    key_hint: Mapped[str] = mapped_column(String(8))
    secret_id: Mapped[int | None] = mapped_column(
        ForeignKey("vault_secrets.id", ondelete="SET NULL"), nullable=True
    )
    # connected | invalid_credentials | key_or_ip_rejected | permissions_error | unreachable
    status: Mapped[str] = mapped_column(String(32))
    status_detail: Mapped[str] = mapped_column(String(1000), default="")
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ip_restricted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    ips: Mapped[list[str]] = mapped_column(JSON, default=list)
    permissions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    key_expires_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    # Last time the key's permissions were read and passed the rule (gate check 16 needs < 1 h).
    verified_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    checked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
