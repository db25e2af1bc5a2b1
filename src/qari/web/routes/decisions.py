"""API route: `GET /api/v1/decisions/{id}/replay` re-runs a recorded decision from its stored inputs
and returns the differences against the record (none expected). `123`: an analysis decision (shared
market analysis); `u45`: the caller's own gate decision (another user's is 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam

from qari.adapters.persistence.decisions import UnknownDecision, replay
from qari.web.deps import CurrentUser, SessionDep
from qari.web.schemas.decisions import DecisionReplay, DecisionReplayPart

router = APIRouter(tags=["decisions"])


@router.get(
    "/decisions/{decision_id}/replay",
    response_model=DecisionReplay,
    responses={404: {"description": "no such decision, or not the caller's"}},
)
async def replay_decision(
    decision_id: Annotated[str, PathParam(pattern=r"^[uU]?[0-9]{1,12}$", examples=["123", "u45"])],
    user: CurrentUser,
    session: SessionDep,
) -> DecisionReplay:
    """Replay a decision; `identical` false lists every difference."""
    try:
        report = await replay(session, decision_id, user_id=user.id)
    except UnknownDecision:
        raise HTTPException(404, "no such decision") from None
    return DecisionReplay(
        decision_id=decision_id,
        identical=report.identical,
        replays=[
            DecisionReplayPart(
                decision_id=r.decision_id,
                kind=r.kind,
                identical=r.identical,
                differences=r.differences,
                notes=r.notes,
            )
            for r in report.replays
        ],
        orders=report.orders,
    )
