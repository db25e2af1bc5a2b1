"""`qari learn evaluate --data DIR [--pairs ...] --train YYYYMMDD-YYYYMMDD --test YYYYMMDD-YYYYMMDD`."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from qari.cli.options import DATA_DIR_NAMES, PAIRS_METAVAR, parse_pairs, parse_timerange

app = typer.Typer(no_args_is_help=True, help="Learning stages (Stage 1 fixed, 2 re-weighted, 3 LightGBM).")


def _window(value: str, option: str) -> tuple[dt.datetime, dt.datetime]:
    try:
        start, end = parse_timerange(value)
    except typer.BadParameter as e:
        raise typer.BadParameter(str(e.message), param_hint=option) from None
    if start is None or end is None:
        raise typer.BadParameter(f"{value!r}: give both a start and an end", param_hint=option)
    return start, end


@app.command("evaluate")
def evaluate(
    data: Annotated[Path, typer.Option(*DATA_DIR_NAMES, help="Directory of candle files.")],
    train: Annotated[str, typer.Option("--train", metavar="YYYYMMDD-YYYYMMDD", help="Training window.")],
    test: Annotated[str, typer.Option("--test", metavar="YYYYMMDD-YYYYMMDD", help="Test window.")],
    pairs: Annotated[
        list[str] | None, typer.Option("--pairs", "-p", metavar=PAIRS_METAVAR, help="Default: every pair.")
    ] = None,
    register: Annotated[
        bool,
        typer.Option(
            "--register",
            help="Seed the model registry (QARI_DATABASE_URL) with these versions, marked as backtest "
            "outcomes; a stage is activated only if it beat Stage 1 on the test window.",
        ),
    ] = False,
) -> None:
    """Label every candidate, train Stages 2 and 3 on --train, compare Stages 1/2/3 on --test."""
    from qari.backtest.data import BacktestError
    from qari.backtest.runner import default_workers
    from qari.learning.evaluate import report, run

    first, second = _window(train, "--train"), _window(test, "--test")
    if second[0] < first[1]:
        raise typer.BadParameter(
            "the test window must start after the training window ends", param_hint="--test"
        )
    try:
        result = run(data, parse_pairs(pairs), first, second, workers=min(default_workers(), 2))
    except BacktestError as e:
        typer.echo(f"qari learn evaluate: {e}", err=True)
        sys.exit(2)
    for line in report(result):
        typer.echo(line)
    if register:
        import asyncio

        from qari.learning.evaluate import seed_registry

        for line in asyncio.run(seed_registry(result, first, second)):
            typer.echo(line)
