"""Tables for the engine: one row per scan cycle and per exchange, and the latest scan view.

`engine_scan_results` holds one row per symbol analysed in a cycle (score, agreeing layers, vetoes,
candidate levels); `engine_gate_outcomes` what each user's gate decided on each candidate. The
dashboard's "latest scan" reads the newest cycle of each exchange. Old rows are pruned by the engine.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from qari.adapters.persistence.base import Base


class EngineCycleRow(Base):
    __tablename__ = "engine_cycles"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    exchange_id: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    symbols: Mapped[int] = mapped_column(Integer, default=0)
    candidates: Mapped[int] = mapped_column(Integer, default=0)
    users: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    entries_allowed: Mapped[bool] = mapped_column(default=True)
    health: Mapped[str] = mapped_column(String(16), default="up")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_engine_cycles_exchange_at", "exchange_id", "at"),)


class EngineScanResultRow(Base):
    __tablename__ = "engine_scan_results"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("engine_cycles.id", ondelete="CASCADE"), index=True)
    symbol: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    agreeing: Mapped[int] = mapped_column(Integer)
    layers_agreed: Mapped[list[int]] = mapped_column(JSON)
    vetoes: Mapped[list[str]] = mapped_column(JSON)
    candidate: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class EngineGateOutcomeRow(Base):
    __tablename__ = "engine_gate_outcomes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("engine_cycles.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    symbol: Mapped[str] = mapped_column(String(64))
    passed: Mapped[bool]
    blocking_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")


class EngineUnitRow(Base):
    """A unit of work done: (kind, cycle, exchange, user) is the key, so a redelivered or duplicated task
    message finds its unit here and does nothing twice (docs/task-engine.md)."""

    __tablename__ = "engine_units"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # enter | manage | reconcile
    cycle_at: Mapped[dt.datetime] = mapped_column(primary_key=True)
    exchange_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finished_at: Mapped[dt.datetime]
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON)


class EngineSharedScanRow(Base):
    """A cycle's shared scan of one exchange, stored once for every worker's units to read (the task
    message carries only the unit's key). Written and read only by the engine's own processes, as typed
    JSON (`adapters/scan_codec.py`): a row is data, never code."""

    __tablename__ = "engine_shared_scans"

    cycle_at: Mapped[dt.datetime] = mapped_column(primary_key=True)
    exchange_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class EngineWorkerRow(Base):
    """A live `qari worker` process: its heartbeat (`adapters/tasks.py`), written every
    `HEARTBEAT_SECONDS` whether it works units or waits for them, and removed when it stops. The
    operator page lists idle workers from here (units alone show only the busy ones)."""

    __tablename__ = "engine_workers"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid, as on its units
    started_at: Mapped[dt.datetime]
    seen_at: Mapped[dt.datetime]
    threads: Mapped[int] = mapped_column(Integer)
    in_flight: Mapped[int] = mapped_column(Integer, default=0)  # units being worked at the beat
