"""`qari vault ...`: master-key operations."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Secret vault operations.")


@app.command("rotate-master")
def rotate_master() -> None:
    """Re-wrap every data key under a new master key."""
    typer.echo("qari vault rotate-master: not built yet", err=True)
    raise typer.Exit(2)
