"""`qari scan --datadir DIR --at TIME [--pairs A/USDT B/USDT] [--json]`: one analysis pass as of a time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qari.cli.options import DATA_DIR_NAMES, PAIRS_METAVAR, parse_pairs
from qari.core.market import MarketContext
from qari.core.time import parse_utc, to_ms
from qari.market.candle_files import CandleFileError
from qari.market.dominance import DominanceFileError, load_dominance
from qari.market.scan_pass import load_series, run_pass, to_json, to_text


def _parse_at(text: str) -> int:
    try:
        return to_ms(parse_utc(text))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO time; use e.g. 2024-06-01T12:00:00Z") from None


def scan(
    data: Annotated[
        Path, typer.Option(*DATA_DIR_NAMES, help="Folder of BASE_QUOTE-TF.feather/.json/.json.gz files.")
    ],
    at: Annotated[str, typer.Option("--at", help="Analysis time (ISO 8601, UTC if no offset).")],
    pairs: Annotated[
        list[str] | None,
        typer.Option(
            "--pairs",
            "-p",
            metavar=PAIRS_METAVAR,
            help="Pairs to scan, space-separated (BTC/USDT ETH/USDT); default: all.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    dominance: Annotated[
        Path | None,
        typer.Option("--dominance", help="BTC dominance JSON file: a list of (epoch ms, value) rows."),
    ] = None,
) -> None:
    """Run one 11-layer analysis pass as of --at and print each layer's result, score and candidate."""
    at_ms = _parse_at(at)
    wanted = list(parse_pairs(pairs) or ())
    try:
        series = load_series(data, wanted or None)
        context = MarketContext()
        if dominance is not None:
            context = load_dominance(dominance).into(context)
    except (CandleFileError, DominanceFileError) as e:
        typer.echo(f"qari scan: {e}", err=True)
        raise typer.Exit(2) from None
    symbols = wanted or sorted(series)
    missing = [s for s in symbols if s not in series]
    if missing:
        typer.echo(f"qari scan: no candle files for {', '.join(missing)} in {data}", err=True)
        raise typer.Exit(2)
    verdicts = run_pass(series, at_ms, symbols, context)
    typer.echo(to_json(at_ms, verdicts) if as_json else to_text(at_ms, verdicts))
