from __future__ import annotations

from pydantic import BaseModel, Field


class DecisionReplayPart(BaseModel):
    decision_id: str = Field(examples=["123", "u45"])
    kind: str = Field(description="analysis (shared, per cycle and symbol) or gate (the caller's)")
    identical: bool
    differences: list[str] = Field(description="`path: recorded -> replayed`, one per differing value")
    notes: list[str] = Field(description="e.g. the engine or weights version changed since the record")


class DecisionReplay(BaseModel):
    """A decision re-run from its stored inputs only: a user decision replays the analysis that made
    the candidate and then the gate's 16 checks."""

    decision_id: str
    identical: bool
    replays: list[DecisionReplayPart]
    orders: list[str] = Field(description="client order ids of the orders the decision led to")
