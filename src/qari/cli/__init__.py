"""The `qari` console script: serve | sandbox | scan | backtest | migrate | vault."""

from __future__ import annotations

import typer

from qari.cli import backtest, migrate, sandbox, scan, serve, vault

app = typer.Typer(no_args_is_help=True, add_completion=False, help="QARI autonomous spot trading platform.")
app.command("serve")(serve.serve)
app.command("sandbox")(sandbox.sandbox)
app.command("scan")(scan.scan)
app.command("backtest")(backtest.backtest)
app.command("migrate")(migrate.migrate)
app.add_typer(vault.app, name="vault")


def main() -> None:
    app()
