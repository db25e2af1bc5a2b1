"""Wire schemas for the latest scan (`GET /api/v1/scans/latest`): what the Scanner page reads."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class ScanCandidate(BaseModel):
    """The analysis candidate's levels (decimal strings) and its explanation."""

    entry_low: str
    entry_high: str
    stop: str
    pt1: str
    pt2: str
    explanation: str


class ScanGate(BaseModel):
    """What the caller's risk gate decided for the symbol this cycle."""

    passed: bool
    blocking_code: str | None = Field(description="the first failing check (G01..G16, or 'personal')")
    reason: str | None


class ScanResult(BaseModel):
    symbol: str = Field(examples=["SOL/USDT"])
    score: float
    agreeing: int = Field(description="how many layers agreed")
    layers_agreed: list[int]
    vetoes: list[str]
    candidate: ScanCandidate | None = Field(description="null: no setup passed Stage 1 confluence")
    gate: ScanGate | None = Field(description="null: the caller's gate did not evaluate the symbol")
    decision_id: str | None = Field(description="for GET /decisions/{id}/replay, where records are kept")
    why: str = Field(description="why the symbol was or was not entered, in words")


class LatestScan(BaseModel):
    cycle_id: int
    exchange: str
    mode: str
    at: dt.datetime
    finished_at: dt.datetime
    duration_ms: int
    health: str = Field(description="up, degraded or maintenance as the cycle ended")
    entries_allowed: bool
    error: str | None
    symbols: int = Field(description="symbols analysed")
    candidates: int = Field(description="symbols with a candidate")
    results: list[ScanResult] = Field(description="best score first (ties by symbol)")
    why_nothing_entered: str | None = Field(description="null: something passed the gate")
