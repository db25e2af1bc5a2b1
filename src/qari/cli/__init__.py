"""The `qari` console script: serve | web | scheduler | worker | signer | sandbox | scan | backtest |
download-data | migrate | replay | vault | learn."""

from __future__ import annotations

import typer

from qari.cli import backtest, download, learn, migrate, replay, roles, sandbox, scan, serve, signer, vault
from qari.cli.options import MultiValueGroup

app = typer.Typer(
    cls=MultiValueGroup,
    no_args_is_help=True,
    add_completion=False,
    help="QARI autonomous spot trading platform.",
)
app.command("serve")(serve.serve)
app.command("web")(roles.web)
app.command("scheduler")(roles.scheduler)
app.command("worker")(roles.worker)
app.command("signer")(signer.signer)
app.command("sandbox")(sandbox.sandbox)
app.command("scan")(scan.scan)
app.command("backtest")(backtest.backtest)
app.command("download-data")(download.download_data)
app.command("migrate")(migrate.migrate)
app.command("replay")(replay.replay)
app.add_typer(vault.app, name="vault")
app.add_typer(learn.app, name="learn")


def main() -> None:
    app()
