"""`qari backtest`."""

from __future__ import annotations

import typer


def backtest() -> None:
    """Not built yet."""
    typer.echo("qari backtest: not built yet", err=True)
    raise typer.Exit(2)
