"""The model registry (PRODUCT.md §9): every learning-stage version with its data window and metrics.

`version` is what decision records name as their weights version (`decisions.weights_version`),
so a replay finds the exact weights a decision was made with. At most one row is `active`; none means
Stage 1. `source` keeps operator seeds from public history ("backtest") apart from real outcomes
("live").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from qari.adapters.persistence.base import Base


class ModelVersionRow(Base):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    stage: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # "backtest" (public history) | "live"
    data_from: Mapped[dt.datetime] = mapped_column()
    data_to: Mapped[dt.datetime] = mapped_column()
    samples: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    weights: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # Stage 2's points
    model: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # Stage 3's, as data
    created_at: Mapped[dt.datetime] = mapped_column()
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    activated_by: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the operator's user id
    activated_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    previous_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # active before it; rollback
