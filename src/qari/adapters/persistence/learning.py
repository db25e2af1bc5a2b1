"""The model registry (register, activate, roll back, the active weights) and the consenting training set.

Consent is read at every training run, and live samples are built fresh from the journal each time:
nothing of a user's is copied elsewhere, so withdrawing consent removes their past and future
contributions from the next run. A sample carries R, the layer results and times only: no user id, no
e-mail, no USDT amount, not even the symbol.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence.tables.accounts import UserSettings
from qari.adapters.persistence.tables.learning import ModelVersionRow
from qari.adapters.persistence.tables.trading import PositionRow
from qari.analysis.layer import LayerResult, Vote
from qari.analysis.verdict import Verdict
from qari.analysis.weights import WeightSet, stage1
from qari.core.market import MarketSnapshot
from qari.decisions import weights_json, weights_version
from qari.learning.stages import Sample, Stage3Model, analyse_scored, personal_weights
from qari.risk.profile import TradingProfile

SOURCES = ("backtest", "live")


class RegistryError(ValueError):
    """A registry request that cannot be met; the message says why (shown to the operator)."""


async def register(
    session: AsyncSession,
    *,
    stage: int,
    source: str,
    data_from: dt.datetime,
    data_to: dt.datetime,
    samples: int,
    metrics: dict[str, Any],
    now: dt.datetime,
    weights: WeightSet | None = None,
    model: Stage3Model | None = None,
) -> ModelVersionRow:
    """Store a trained version (inactive). Stage 2's version is its weights' version, the name
    decision records carry."""
    if source not in SOURCES:
        raise RegistryError(f"source must be one of {', '.join(SOURCES)}")
    if stage == 2 and weights is None:
        raise RegistryError("a Stage 2 version needs its weights")
    if weights is not None:
        version = weights_version(weights)
    else:
        version = f"stage{stage}-{source}-{now:%Y%m%dT%H%M%S}"
    row = ModelVersionRow(
        version=version, stage=stage, source=source, data_from=data_from, data_to=data_to,
        samples=samples, metrics=metrics, weights=None if weights is None else weights_json(weights),
        model=None if model is None else model.to_json(), created_at=now, active=False,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def versions(session: AsyncSession) -> list[ModelVersionRow]:
    return list((await session.scalars(select(ModelVersionRow).order_by(ModelVersionRow.id))).all())


async def activate(
    session: AsyncSession, version: str, *, actor: int | None, now: dt.datetime
) -> ModelVersionRow:
    """Make `version` the active one; `actor` None: activated automatically (it beat Stage 1)."""
    row = await session.scalar(select(ModelVersionRow).where(ModelVersionRow.version == version))
    if row is None:
        raise RegistryError(f"no model version {version!r}")
    if row.weights is None and row.model is None:
        raise RegistryError(f"{version} holds no weights and no model: nothing the engine could score with")
    current = await session.scalar(select(ModelVersionRow).where(ModelVersionRow.active.is_(True)))
    if current is not None and current.id == row.id:
        return row
    await session.execute(update(ModelVersionRow).values(active=False))
    row.active, row.activated_by, row.activated_at = True, actor, now
    row.previous_id = None if current is None else current.id
    await session.flush()
    return row


async def rollback(session: AsyncSession, *, actor: int, now: dt.datetime) -> ModelVersionRow | None:
    """Deactivate the active version and reactivate the one that was active before it (None: Stage 1)."""
    current = await session.scalar(select(ModelVersionRow).where(ModelVersionRow.active.is_(True)))
    if current is None:
        raise RegistryError("Stage 1 is active: nothing to roll back")
    current.active = False
    earlier = None if current.previous_id is None else await session.get(ModelVersionRow, current.previous_id)
    if earlier is not None:
        earlier.active, earlier.activated_by, earlier.activated_at = True, actor, now
    await session.flush()
    return earlier


async def active_weights(session: AsyncSession) -> WeightSet:
    """The weights the engine analyses with: the active version's, else Stage 1's."""
    row = await session.scalar(select(ModelVersionRow).where(ModelVersionRow.active.is_(True)))
    if row is None or row.weights is None:
        return stage1()
    return WeightSet.from_mapping(row.weights)


async def active_model(session: AsyncSession) -> tuple[str, Stage3Model] | None:
    """The active Stage 3 model and its version (None: no model scales the score)."""
    row = await session.scalar(select(ModelVersionRow).where(ModelVersionRow.active.is_(True)))
    if row is None or row.model is None:
        return None
    return row.version, Stage3Model.from_json(row.model)


async def model_for(session: AsyncSession, version: str) -> Stage3Model | None:
    """A registered Stage 3 model by version (what a decision record names), for replay."""
    row = await session.scalar(select(ModelVersionRow).where(ModelVersionRow.version == version))
    return None if row is None or row.model is None else Stage3Model.from_json(row.model)


class ActiveScoring:
    """What the engine scores with: the registry's active weights and Stage 3 model. `refresh` (each
    cycle) reads only the active version's id and reloads when it changed, so an activation or a
    rollback takes effect at the next cycle, not only at the next start."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.loaded = False
        self.version_id: int | None = None
        self.weights: WeightSet = stage1()
        self.model_version: str | None = None
        self.model: Stage3Model | None = None

    async def refresh(self) -> bool:
        """True when a different version was loaded."""
        async with self.sessions() as session:
            current = await session.scalar(select(ModelVersionRow.id).where(ModelVersionRow.active.is_(True)))
            if self.loaded and current == self.version_id:
                return False
            self.weights = await active_weights(session)
            self.model_version, self.model = await active_model(session) or (None, None)
        self.version_id, self.loaded = current, True
        return True

    def analyse(self, snapshot: MarketSnapshot) -> Verdict:
        return analyse_scored(snapshot, weights=self.weights, model=self.model)


def _layers(results: list[dict[str, Any]]) -> tuple[LayerResult, ...]:
    return tuple(
        LayerResult(int(r["layer"]), str(r.get("name", "")), Vote(r["vote"]), float(r["score"]))
        for r in results
        if "layer" in r and "vote" in r and "score" in r
    )


async def personal_weights_for(session: AsyncSession, user_id: int, collective: WeightSet) -> WeightSet:
    """A Premium user's scoring weights: their own consenting closed trades blended with the collective
    active weights (`stages.personal_weights`); the collective ones when they have none."""
    own = await consenting_samples(session, user_id=user_id)
    return personal_weights(own, collective) if own else collective


async def personal_weights_of(
    sessions: async_sessionmaker[AsyncSession], collective: WeightSet, profile: TradingProfile
) -> WeightSet:
    """The engine's `personal` hook: `personal_weights_for` in a session of its own (read each cycle)."""
    async with sessions() as session:
        return await personal_weights_for(session, profile.user_id, collective)


async def consenting_samples(session: AsyncSession, *, user_id: int | None = None) -> list[Sample]:
    """Closed trades of users who consent now (`user_id`: that user's only), as anonymised samples
    ("live"), oldest first."""
    consenting = select(UserSettings.user_id).where(UserSettings.learning_consent.is_(True))
    if user_id is not None:
        consenting = consenting.where(UserSettings.user_id == user_id)
    rows = await session.scalars(
        select(PositionRow)
        .where(PositionRow.user_id.in_(consenting))
        .where(PositionRow.closed_at.is_not(None), PositionRow.realised_r.is_not(None))
        .order_by(PositionRow.closed_at)
    )
    out = []
    for p in rows:
        entry = float(p.blended_entry or p.entry_price)
        stop = float(p.structural_stop)
        if entry <= 0 or stop >= entry or p.closed_at is None or p.realised_r is None:
            continue
        out.append(
            Sample(
                "", int(p.opened_at.timestamp() * 1000), int(p.closed_at.timestamp() * 1000),
                _layers(p.layer_results), float(p.realised_r), round((entry - stop) / entry, 6),
                round((float(p.pt2) - entry) / (entry - stop), 4), source="live",
            )
        )  # fmt: skip
    return out
