"""Tables for decision records (`qari/decisions.py`).

- `decisions`: one analysis decision per cycle, exchange and symbol: the inputs (candles by hash),
  the verdict with every layer's vote, score and evidence (both zlib-compressed JSON, `pack_json`:
  a fifth of the text), the engine and weights versions.
- `decision_candles`: the candle windows those inputs name, once per content hash (a 4h or 1d
  window is shared by every cycle until its next close, BTC's by every symbol). `last_used_at` lets
  retention drop a window once no kept decision can name it.
The per-user side is `gate_evaluations.inputs` (the GateContext its 16 checks read).
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from qari.adapters.persistence.base import Base


def pack_json(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)


def unpack_json(data: bytes) -> Any:
    return json.loads(zlib.decompress(data))


class DecisionRow(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    exchange_id: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(index=True)  # the cycle's time
    mode: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))  # analysis entry point: "analyse" | "screen"
    engine_version: Mapped[str] = mapped_column(String(64))
    weights_version: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    candidate: Mapped[bool] = mapped_column(default=False)
    size_bytes: Mapped[int] = mapped_column(Integer)
    inputs: Mapped[bytes] = mapped_column(LargeBinary)  # pack_json
    verdict: Mapped[bytes] = mapped_column(LargeBinary)  # pack_json

    __table_args__ = (Index("ix_decisions_exchange_symbol_at", "exchange_id", "symbol", "at"),)


class DecisionCandlesRow(Base):
    __tablename__ = "decision_candles"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    timeframe: Mapped[str] = mapped_column(String(8))
    candles: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    last_used_at: Mapped[dt.datetime] = mapped_column(index=True)
