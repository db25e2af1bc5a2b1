"""`qari learn evaluate` on real candles: Stages 1/2/3 on the test window beside the market change, the
layers' measured value, samples per stage; `--register` seeds the registry, activating only a winner."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.market_data import MARKET_DATA, needs_market_data
from typer.testing import CliRunner

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.tables.learning import ModelVersionRow
from qari.cli import app

pytestmark = needs_market_data


async def _rows(url: str) -> list[ModelVersionRow]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            return list((await session.scalars(select(ModelVersionRow))).all())
    finally:
        await engine.dispose()


def test_learn_evaluate_reports_every_stage_and_seeds_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'qari.db'}"
    monkeypatch.setenv("QARI_DATABASE_URL", url)
    migrate.upgrade(url)
    args = ["learn", "evaluate", "--data", str(MARKET_DATA), "--pairs", "SOL/USDT", "ETH/USDT"]
    args += ["--train", "20240201-20240420", "--test", "20240420-20240501", "--register"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "market change (buy-and-hold, test window): " in out and "%" in out
    table = [line.split() for line in out.splitlines() if line[:6].strip() in {"1", "2", "3"}]
    assert [row[0] for row in table[:3]] == ["1", "2", "3"]
    assert table[0][6] == "0" and int(table[1][6]) > 0  # Stage 1 learns nothing; Stage 2 saw samples
    assert sum(1 for line in out.splitlines() if line.strip()[:2].strip().isdigit() and "→" in line) == 11
    rows = asyncio.run(_rows(url))
    assert 2 in {r.stage for r in rows} and {r.source for r in rows} == {"backtest"}
    beat = "no (does not beat" not in out.splitlines()[4]
    assert [r.active for r in rows if r.stage == 2] == [beat]  # activated only when it beat Stage 1
    assert not any(r.active for r in rows if r.stage == 3)


def test_learn_evaluate_refuses_a_test_window_before_the_training_window_ends() -> None:
    args = ["learn", "evaluate", "--data", str(MARKET_DATA), "--train", "20240101-20240501"]
    result = CliRunner().invoke(app, [*args, "--test", "20240401-20240601"])
    text = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
    assert result.exit_code == 2 and "must start after the training window ends" in text
