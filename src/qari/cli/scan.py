"""`qari scan`."""

from __future__ import annotations

import typer


def scan() -> None:
    """Not built yet."""
    typer.echo("qari scan: not built yet", err=True)
    raise typer.Exit(2)
