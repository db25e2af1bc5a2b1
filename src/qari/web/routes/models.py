"""API routes: the operator's learning-stage page (PRODUCT.md §9): model versions, training Stage 2 from
consenting users' closed trades, activation and rollback. Every change is in the audit log."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from qari.adapters.persistence import learning
from qari.adapters.persistence.tables.learning import ModelVersionRow
from qari.analysis.weights import stage1
from qari.decisions import weights_version
from qari.learning.stages import STAGE2_MIN_TRADES, layer_values, stage2_weights
from qari.services import accounts
from qari.web.deps import ClockDep, OperatorUser, SessionDep

router = APIRouter(prefix="/admin/models", tags=["admin"])


class ModelVersionPublic(BaseModel):
    version: str
    stage: int
    source: str
    data_from: dt.datetime
    data_to: dt.datetime
    samples: int
    metrics: dict[str, Any]
    weights: dict[str, Any] | None
    active: bool
    activated_by: int | None
    activated_at: dt.datetime | None


class ModelsPage(BaseModel):
    active_stage: int
    active_version: str
    live_samples: int
    stage2_min_trades: int = STAGE2_MIN_TRADES
    versions: list[ModelVersionPublic]


class Activation(BaseModel):
    version: str = Field(min_length=1, max_length=64)


def _finite(x: float) -> float | None:
    """JSON has no NaN (a layer that never agreed has no average)."""
    return x if math.isfinite(x) else None


def _public(row: ModelVersionRow) -> ModelVersionPublic:
    return ModelVersionPublic.model_validate(row, from_attributes=True)


async def _page(session: Any) -> ModelsPage:
    rows = await learning.versions(session)
    active = next((r for r in rows if r.active), None)
    samples = await learning.consenting_samples(session)
    return ModelsPage(
        active_stage=active.stage if active else 1,
        active_version=active.version if active else "stage1",
        live_samples=len(samples),
        versions=[_public(r) for r in rows],
    )


@router.get("", response_model=ModelsPage)
async def list_models(operator: OperatorUser, session: SessionDep) -> ModelsPage:
    page = await _page(session)
    await session.commit()
    return page


@router.post("/train", response_model=ModelVersionPublic, status_code=201)
async def train_stage2(operator: OperatorUser, session: SessionDep, clock: ClockDep) -> ModelVersionPublic:
    """Fit Stage 2 on consenting users' closed trades (real outcomes only); registered inactive."""
    samples = await learning.consenting_samples(session)
    if len(samples) < STAGE2_MIN_TRADES:
        raise HTTPException(
            409,
            f"Stage 2 needs {STAGE2_MIN_TRADES} closed trades of consenting users; there are {len(samples)}",
        )
    weights = stage2_weights(samples, stage1())
    metrics = {
        "layers": {
            str(v.layer): {
                "agree_avg_r": _finite(v.agree_avg_r),
                "other_avg_r": _finite(v.other_avg_r),
                "agree_n": v.agree_n,
            }
            for v in layer_values(samples)
        }
    }
    now = clock.now()
    if any(r.version == weights_version(weights) for r in await learning.versions(session)):
        raise HTTPException(409, f"{weights_version(weights)} is already registered")
    row = await learning.register(
        session, stage=2, source="live", weights=weights, metrics=metrics, now=now, samples=len(samples),
        data_from=dt.datetime.fromtimestamp(samples[0].decided_ms / 1000, dt.UTC),
        data_to=dt.datetime.fromtimestamp(samples[-1].outcome_ms / 1000, dt.UTC),
    )  # fmt: skip
    await accounts.audit(session, now=now, actor=operator.id, action="learning.trained", version=row.version)
    public = _public(row)
    await session.commit()
    return public


@router.post("/activate", response_model=ModelsPage)
async def activate(
    body: Activation, operator: OperatorUser, session: SessionDep, clock: ClockDep
) -> ModelsPage:
    """Activate a version; the engine uses it from its next start."""
    try:
        await learning.activate(session, body.version, actor=operator.id, now=clock.now())
    except learning.RegistryError as e:
        raise HTTPException(409, str(e)) from None
    await accounts.audit(
        session, now=clock.now(), actor=operator.id, action="learning.activated", version=body.version
    )
    await session.commit()
    return await list_models(operator, session)


@router.post("/rollback", response_model=ModelsPage)
async def rollback(operator: OperatorUser, session: SessionDep, clock: ClockDep) -> ModelsPage:
    try:
        back = await learning.rollback(session, actor=operator.id, now=clock.now())
    except learning.RegistryError as e:
        raise HTTPException(409, str(e)) from None
    await accounts.audit(
        session, now=clock.now(), actor=operator.id, action="learning.rolled_back",
        version=back.version if back else "stage1",
    )  # fmt: skip
    await session.commit()
    return await list_models(operator, session)
