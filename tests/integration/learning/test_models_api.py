"""/api/v1/admin/models: the operator's stage page; activation and rollback; refusals are 4xx."""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx
from tests.helpers import register_and_login

from qari.adapters.persistence.db import make_engine, make_sessionmaker, transaction
from qari.adapters.persistence.learning import register
from qari.analysis.weights import stage1
from qari.config import Settings

MODELS = "/api/v1/admin/models"
NOW = dt.datetime(2024, 9, 7, tzinfo=dt.UTC)


async def test_operator_sees_stage1_activates_a_seed_and_rolls_back(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operator = await register_and_login(client, "op@example.com")
    user = await register_and_login(client, "user@example.com")
    assert (await client.get(MODELS, headers=user)).status_code == 403
    page = (await client.get(MODELS, headers=operator)).json()
    assert (page["active_stage"], page["active_version"], page["versions"]) == (1, "stage1", [])
    refused = await client.post(f"{MODELS}/train", headers=operator)
    assert refused.status_code == 409 and "500" in refused.json()["detail"]
    assert (await client.post(f"{MODELS}/rollback", headers=operator)).status_code == 409
    missing = await client.post(f"{MODELS}/activate", json={"version": "nope"}, headers=operator)
    assert missing.status_code == 409

    engine = make_engine(settings.resolved_database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            seed = await register(
                session, stage=2, source="backtest", now=NOW, samples=3132, metrics={"avg_r": -0.3},
                weights=dataclasses.replace(stage1(), name="stage2", points=(2.0, *stage1().points[1:])),
                data_from=NOW - dt.timedelta(days=150), data_to=NOW,
            )  # fmt: skip
            version = seed.version
    finally:
        await engine.dispose()
    page = (await client.post(f"{MODELS}/activate", json={"version": version}, headers=operator)).json()
    assert page["active_stage"] == 2 and page["active_version"] == version
    [row] = page["versions"]
    assert (
        row["source"] == "backtest"
        and row["activated_by"] is not None
        and row["weights"]["points"]["1"] == 2.0
    )
    page = (await client.post(f"{MODELS}/rollback", headers=operator)).json()
    assert page["active_version"] == "stage1" and page["versions"][0]["active"] is False
