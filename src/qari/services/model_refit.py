"""Stage 2 re-fitted on a schedule (PRODUCT.md §9): from the closed trades of users who consent, at most
once a day, run from the engine's hourly checks.

The candidate is fitted on the older part of the samples and judged on a held-out later window it never
saw (`HOLDOUT`), against the active version and Stage 1, by the rule `qari learn evaluate` uses
(`evaluate.beats`). It is always registered (source "live"); it is activated only when it beats both,
and the operator is told either way (an alert and the audit log). Like a manual activation, the engine
scores with a newly active version from its next start.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.persistence import learning
from qari.adapters.persistence.alerts import emit_alert
from qari.adapters.persistence.tables.accounts import User
from qari.analysis.confluence import weighted_score
from qari.analysis.weights import WeightSet, stage1
from qari.core.clocks import ManualClock
from qari.decisions import weights_version
from qari.learning.evaluate import StageResult, beats, trade
from qari.learning.stages import STAGE2_MIN_TRADES, Sample, known_by, stage2_weights
from qari.services import accounts

REFIT_EVERY = dt.timedelta(days=1)
HOLDOUT = 0.3  # the latest 30 % of samples (by decision time) judge the candidate


@dataclass(frozen=True, slots=True)
class Refit:
    version: str
    activated: bool
    candidate: StageResult
    active: StageResult
    stage1: StageResult


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def _at(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def _measure(test: list[Sample], weights: WeightSet, stage: int, seen: int) -> StageResult:
    return trade(
        test,
        lambda s: weighted_score(s.layers, weights) >= weights.threshold,
        stage,
        seen,
        one_per_symbol=False,
    )


def _figures(r: StageResult) -> dict[str, float | int | None]:
    def finite(x: float) -> float | None:
        return round(x, 4) if math.isfinite(x) else None

    return {
        "trades": r.trades,
        "win_rate": finite(r.win_rate),
        "avg_r": finite(r.avg_r),
        "profit_factor": finite(r.profit_factor),
    }


async def refit_stage2(session: AsyncSession, now: dt.datetime) -> Refit | None:
    """Re-fit Stage 2 if a day has passed since the last live fit and ≥ 500 consenting closed trades
    exist (outcome known by `now`); None when nothing was due or the weights did not change."""
    rows = await learning.versions(session)
    last = max((r.created_at for r in rows if r.source == "live" and r.stage == 2), default=None)
    if last is not None and now - last < REFIT_EVERY:
        return None
    samples = sorted(
        known_by(await learning.consenting_samples(session), _ms(now)), key=lambda s: s.decided_ms
    )
    if len(samples) < STAGE2_MIN_TRADES:
        return None
    cut = int(len(samples) * (1 - HOLDOUT))
    split = samples[cut].decided_ms
    train = known_by(samples[:cut], split)  # only outcomes known before the held-out window begins
    test = samples[cut:]
    candidate = stage2_weights(train, stage1())
    version = weights_version(candidate)
    if any(r.version == version for r in rows):
        return None
    active = await learning.active_weights(session)
    result = Refit(
        version,
        False,
        _measure(test, candidate, 2, len(train)),
        _measure(test, active, 2, 0),
        _measure(test, stage1(), 1, 0),
    )
    activated = beats(result.candidate, result.active) and beats(result.candidate, result.stage1)
    await learning.register(
        session, stage=2, source="live", weights=candidate, now=now, samples=len(train),
        data_from=_at(train[0].decided_ms), data_to=_at(split),
        metrics={
            **_figures(result.candidate),
            "held_out": {"from": _at(split).isoformat(), "samples": len(test)},
            "active": {"version": weights_version(active), **_figures(result.active)},
            "stage1": _figures(result.stage1),
        },
    )  # fmt: skip
    if activated:
        await learning.activate(session, version, actor=None, now=now)
    await accounts.audit(
        session, now=now, actor=None, action="learning.refitted", version=version, activated=activated
    )
    detail = (
        f"{version} activated: it beat the active version out of sample"
        if activated
        else f"{version} registered, not activated: it did not beat the active version out of sample"
    )
    for operator in (await session.scalars(select(User.id).where(User.is_operator.is_(True)))).all():
        await emit_alert(
            session,
            user_id=operator,
            kind="model_trained",
            data={"detail": detail},
            dedupe_key=f"model_trained:{version}",
            clock=ManualClock(now),
        )
    return Refit(version, activated, result.candidate, result.active, result.stage1)
