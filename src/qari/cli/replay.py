"""`qari replay DECISION_ID`: re-run a recorded decision from its stored inputs and show the diff.

Exit 0: reproduced exactly; 1: it differs (each difference printed); 2: no such decision.
"""

from __future__ import annotations

import asyncio

import typer

from qari.config import get_settings


def replay(
    decision_id: str = typer.Argument(
        ..., help="An analysis decision (e.g. 123) or a user decision, the gate evaluation (e.g. u45)."
    ),
    database_url: str | None = typer.Option(
        None, "--database-url", help="The journal's database (default: QARI_DATABASE_URL / the data dir)."
    ),
) -> None:
    """Re-run the analysis (and for a user decision the gate) from the stored inputs; diff the record."""
    from qari.adapters.persistence.db import make_engine, make_sessionmaker
    from qari.adapters.persistence.decisions import UnknownDecision
    from qari.adapters.persistence.decisions import replay as run_replay

    async def run() -> int:
        url = database_url or get_settings().resolved_database_url
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                report = await run_replay(session, decision_id)
        except UnknownDecision:
            typer.echo(f"unknown decision: {decision_id}", err=True)
            return 2
        finally:
            await engine.dispose()
        for r in report.replays:
            verdict = "identical" if r.identical else f"{len(r.differences)} difference(s)"
            typer.echo(f"{r.kind} decision {r.decision_id}: {verdict}")
            for note in r.notes:
                typer.echo(f"  note: {note}")
            for d in r.differences:
                typer.echo(f"  {d}")
        if report.orders:
            typer.echo("orders: " + ", ".join(report.orders))
        return 0 if report.identical else 1

    raise typer.Exit(asyncio.run(run()))
